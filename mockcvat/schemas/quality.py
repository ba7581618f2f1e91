"""Serializers of quality control and consensus (CVAT's ``quality_control/serializers.py`` and
``consensus/serializers.py``), per emulated version, each step read from the cvat-sdk package
of its release: the 2.26.2 schema; thresholds documented in [0, 1] (``QUALITY_BOUNDS``);
project settings and reports, job/task counts in summaries (``PROJECT_QUALITY``); settings
holding *requirements*, conflicts without warnings (``QUALITY_REQUIREMENTS``); more metrics
(``QUALITY_METRICS``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from mockcvat import compat
from mockcvat.compat import (
    CONSENSUS_QUORUM_GONE,
    PROJECT_QUALITY,
    QUALITY_BOUNDS,
    QUALITY_METRICS,
)
from mockcvat.compat import QUALITY_REQUIREMENTS as NEW
from mockcvat.errors import ValidationFailed
from mockcvat.schemas.fields import (
    BooleanField,
    CharField,
    ChoiceField,
    DateTimeField,
    DictField,
    Field,
    FloatField,
    IntegerField,
    JSONField,
    ListField,
    ListSerializerField,
    NestedField,
    Serializer,
    changed_choices,
)
from mockcvat.schemas.requests import UnitFloatField
from mockcvat.schemas.users import BasicUser

TARGET_METRICS = ("accuracy", "precision", "recall")
POINT_SIZE_BASES = ("image_size", "group_bbox_size")
QUALITY_METRICS_ALL = ("accuracy", "precision", "recall", "jaccard_index", "dice",
                   "mean_accuracy", "mean_precision", "mean_recall", "mean_jaccard_index",
                   "mean_dice", "label_accuracy", "label_precision", "label_recall",
                   "label_jaccard_index", "label_dice")
REQUIREMENT_TYPES = ("tag", "rectangle", "skeleton", "skeleton_keypoint", "points", "polyline",
                     "mask", "polygon", "ellipse")
CONFLICT_TYPES_226 = ("missing_annotation", "extra_annotation", "mismatching_label",
                      "low_overlap", "mismatching_direction", "mismatching_attributes",
                      "mismatching_groups", "covered_annotation")
CONFLICT_TYPES = tuple(t for t in CONFLICT_TYPES_226 if t != "low_overlap")
SEVERITIES_226 = ("warning", "error")
SHAPE_TYPES = ("rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask",
               "skeleton")
UNIT_MESSAGE = "{} must be in the range [0; 1]"


class ParentIdField(IntegerField):
    """The settings' ``task_id``/``project_id`` from 2.37: never written, yet documented without
    ``readOnly`` (as cvat-sdk 2.37+ types them)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def openapi(self, request: bool) -> dict[str, Any]:
        schema = super().openapi(request)
        schema.pop("readOnly", None)
        return schema


def unit_check(name: str) -> Any:
    """2.26's ``QualitySettingsSerializer.validate``: thresholds and sizes within [0; 1]."""
    def check(value: float) -> float:
        if not 0 <= value <= 1:
            raise ValidationFailed([UNIT_MESSAGE.format(name)])
        return value
    return check


def _unit(name: str) -> compat.ByVersion[Any]:
    """A 2.26 threshold: checked by the serializer's ``validate``; from 2.31 a bounded field
    (DRF's messages)."""
    return compat.ByVersion(
        FloatField(required=False, checks=[unit_check(name)], until=NEW),
        (QUALITY_BOUNDS, FloatField(required=False, min_value=0, max_value=1, until=NEW)))


def metric_field(**kwargs: Any) -> ChoiceField:
    """``QualityTargetMetric``: accuracy, precision, recall; from 2.75 also Jaccard index, Dice
    and their ``mean_``/``label_`` aggregations."""
    return ChoiceField(QUALITY_METRICS_ALL, enum_name="QualityTargetMetric", choice_versions={
        m: (QUALITY_METRICS, None) for m in QUALITY_METRICS_ALL if m not in TARGET_METRICS},
        **kwargs)


class AttributeComparisonDefaultRule(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "comparator": ChoiceField(("exact", "levenshtein"), enum_name="ComparatorEnum",
                                  required=False, allow_null=True),
        "enabled": BooleanField(required=False, allow_null=True),
        "threshold": UnitFloatField(required=False, allow_null=True, min_value=0, max_value=1),
    }


class AttributeComparisonRule(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "spec_id": IntegerField(),
        "enabled": BooleanField(),
        **{k: v for k, v in AttributeComparisonDefaultRule.fields.items() if k != "enabled"},
    }


class AttributeComparison(Serializer):
    """A requirement's attribute comparison (stored; mockcvat's engine compares attribute
    values exactly)."""

    fields: ClassVar[dict[str, Field]] = {
        "default": NestedField(AttributeComparisonDefaultRule, required=False, allow_null=True),
        "rules": ListSerializerField(AttributeComparisonRule, required=False),
    }


# --- settings (2.26) --------------------------------------------------------------------------
PARAMETERS_226 = ("iou_threshold", "oks_sigma", "line_thickness", "low_overlap_threshold",
                  "line_orientation_threshold", "group_match_threshold",
                  "object_visibility_threshold", "target_metric_threshold")


def _requirement_fields() -> dict[str, Field]:
    """The fields of a 2.80 requirement (list item, detail and requests)."""
    def unit(**kwargs: Any) -> UnitFloatField:
        return UnitFloatField(required=False, allow_null=True, min_value=0, max_value=1,
                              **kwargs)

    return {
        "settings_id": IntegerField(required=False),
        "name": CharField(max_length=250, required=False),
        "sort_order": IntegerField(required=False, min_value=-2147483648,
                                   max_value=2147483647),
        "filter": CharField(required=False, allow_blank=True),
        "enabled": BooleanField(required=False),
        "annotation_type": ChoiceField(REQUIREMENT_TYPES, enum_name="AnnotationTypeEnum",
                                       required=False, allow_null=True, allow_blank=True),
        "metric": metric_field(required=False, allow_null=True),
        "required_score": unit(),
        "parent_requirement": IntegerField(required=False, allow_null=True),
        "iou_threshold": unit(),
        "point_size": unit(),
        "point_size_base": ChoiceField(POINT_SIZE_BASES, enum_name="QualityPointSizeBase",
                                       required=False, allow_null=True, allow_blank=True),
        "line_thickness": unit(),
        "match_orientation": BooleanField(required=False, allow_null=True),
        "line_orientation_threshold": unit(),
        "match_groups": BooleanField(required=False, allow_null=True),
        "group_match_threshold": unit(),
        "check_covered_annotations": BooleanField(required=False, allow_null=True),
        "object_visibility_threshold": unit(),
        "panoptic_comparison": BooleanField(required=False, allow_null=True),
        "attribute_comparison": NestedField(AttributeComparison, required=False,
                                            allow_null=True),
    }


# requirement fields -> the engine's parameter names
REQUIREMENT_PARAMETERS = {
    "iou_threshold": "iou_threshold", "point_size": "oks_sigma",
    "point_size_base": "point_size_base", "line_thickness": "line_thickness",
    "match_orientation": "compare_line_orientation",
    "line_orientation_threshold": "line_orientation_threshold",
    "match_groups": "compare_groups", "group_match_threshold": "group_match_threshold",
    "check_covered_annotations": "check_covered_annotations",
    "object_visibility_threshold": "object_visibility_threshold",
    "panoptic_comparison": "panoptic_comparison",
}
REQUIREMENT_READ_ONLY = {
    "id": IntegerField(read_only=True),
    "task_id": IntegerField(read_only=True, allow_null=True),
    "project_id": IntegerField(read_only=True, allow_null=True),
    "is_base": BooleanField(read_only=True),
}


class QualityRequirementListItem(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "id": REQUIREMENT_READ_ONLY["id"],
        "settings_id": IntegerField(required=False),
        "task_id": REQUIREMENT_READ_ONLY["task_id"],
        "project_id": REQUIREMENT_READ_ONLY["project_id"],
        **{k: v for k, v in _requirement_fields().items() if k != "settings_id"},
        "is_base": REQUIREMENT_READ_ONLY["is_base"],
        "created_date": DateTimeField(read_only=True),
        "updated_date": DateTimeField(read_only=True),
    }


class QualityRequirement(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        **QualityRequirementListItem.fields,
        "effective": JSONField(read_only=True),
    }


class QualityRequirementBulkCreateNode(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        **{k: v for k, v in _requirement_fields().items() if k != "settings_id"},
        "name": CharField(max_length=250),
    }


QualityRequirementBulkCreateNode.fields["children"] = ListSerializerField(
    QualityRequirementBulkCreateNode, required=False)


class QualityRequirementBulkCreate(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "settings_id": IntegerField(),
        "requirements": ListSerializerField(QualityRequirementBulkCreateNode),
    }


class QualitySettings(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "id": IntegerField(read_only=True),
        "task_id": compat.ByVersion(IntegerField(read_only=True),
                                    (PROJECT_QUALITY, ParentIdField())),
        "project_id": ParentIdField(since=PROJECT_QUALITY),
        "job_filter": CharField(required=False, allow_blank=True, max_length=1024,
                                since=PROJECT_QUALITY),
        "inherit": BooleanField(required=False, since=PROJECT_QUALITY),
        "target_metric": ChoiceField(TARGET_METRICS, enum_name="TargetMetricEnum",
                                     required=False, until=NEW,
                                     help_text="The primary metric used for quality estimation"),
        "target_metric_threshold": _unit("target_metric_threshold"),
        "max_validations_per_job": IntegerField(required=False, min_value=0,
                                                max_value=2147483647),
        "iou_threshold": _unit("iou_threshold"),
        "oks_sigma": _unit("oks_sigma"),
        "point_size_base": ChoiceField(POINT_SIZE_BASES, enum_name="PointSizeBaseEnum",
                                       required=False, until=NEW,
                                       help_text="Determines how to compute point sizes"),
        "line_thickness": _unit("line_thickness"),
        "low_overlap_threshold": _unit("low_overlap_threshold"),
        "compare_line_orientation": BooleanField(required=False, until=NEW),
        "line_orientation_threshold": _unit("line_orientation_threshold"),
        "compare_groups": BooleanField(required=False, until=NEW),
        "group_match_threshold": _unit("group_match_threshold"),
        "check_covered_annotations": BooleanField(required=False, until=NEW),
        "object_visibility_threshold": _unit("object_visibility_threshold"),
        "panoptic_comparison": BooleanField(required=False, until=NEW),
        "compare_attributes": BooleanField(required=False, until=NEW),
        "empty_is_annotated": BooleanField(required=False, default=False, until=NEW),
        "requirements": ListSerializerField(QualityRequirementListItem, required=False,
                                            since=NEW),
        "created_date": DateTimeField(read_only=True, since=PROJECT_QUALITY),
        "updated_date": DateTimeField(read_only=True, since=PROJECT_QUALITY),
    }


# model defaults (CVAT 2.26's ``QualitySettings``; 2.80's base requirements)
DEFAULTS_226: dict[str, Any] = {
    "target_metric": "accuracy", "target_metric_threshold": 0.7, "max_validations_per_job": 0,
    "iou_threshold": 0.4, "oks_sigma": 0.09, "point_size_base": "group_bbox_size",
    "line_thickness": 0.01, "low_overlap_threshold": 0.8, "compare_line_orientation": True,
    "line_orientation_threshold": 0.1, "compare_groups": True, "group_match_threshold": 0.5,
    "check_covered_annotations": True, "object_visibility_threshold": 0.05,
    "panoptic_comparison": True, "compare_attributes": True, "empty_is_annotated": False,
}


# --- reports ----------------------------------------------------------------------------------
class QualityReportCreate(Serializer):
    component = "QualityReportCreate"
    fields: ClassVar[dict[str, Field]] = {
        "task_id": IntegerField(write_only=True, required=False),
        "project_id": IntegerField(write_only=True, required=False, since=PROJECT_QUALITY),
    }


class JobsSummary(Serializer):
    component = "QualityReportJobsSummary"
    fields: ClassVar[dict[str, Field]] = {
        **{name: IntegerField() for name in ("total", "excluded", "not_checkable", "included")},
        "completed": IntegerField(since=NEW)}


class TasksSummary(Serializer):
    component = "QualityReportTasksSummary"
    fields: ClassVar[dict[str, Field]] = {
        **{name: IntegerField() for name in ("total", "custom", "not_configured", "excluded",
                                             "included")},
        "completed": IntegerField(since=NEW)}


class ScoreComponents(Serializer):
    component = "QualityReportScoreComponents"
    fields: ClassVar[dict[str, Field]] = {
        name: IntegerField() for name in ("valid_count", "missing_count", "extra_count")}


class RequirementCalculation(Serializer):
    component = "QualityReportRequirementCalculation"
    fields: ClassVar[dict[str, Field]] = {
        "status": ChoiceField(("computed", "not_computed"),
                              enum_name="QualityReportRequirementCalculationStatusEnum"),
        "reason": ChoiceField(("no_annotations", "filter_no_matches",
                               "required_attributes_missing"), enum_name="ReasonEnum",
                              required=False, allow_null=True),
    }


class RequirementSummaryItem(Serializer):
    component = "QualityReportRequirementSummaryItem"
    fields: ClassVar[dict[str, Field]] = {
        "requirement_id": IntegerField(allow_null=True),
        "name": CharField(),
        "metric": compat.ByVersion(CharField(), (QUALITY_METRICS, metric_field())),
        "score": FloatField(allow_null=True),
        "score_components": NestedField(ScoreComponents),
        "calculation": NestedField(RequirementCalculation),
        "threshold": FloatField(),
    }


class RequirementsSummary(Serializer):
    component = "QualityReportRequirementsSummary"
    fields: ClassVar[dict[str, Field]] = {
        **{name: IntegerField() for name in ("total", "enabled", "completed", "not_computed")},
        "items": ListSerializerField(RequirementSummaryItem),
    }


class QualityReportSummary(Serializer):
    omit_missing = True  # ``tasks``/``jobs`` only where the report has them
    fields: ClassVar[dict[str, Field]] = {
        "frame_count": compat.ByVersion(IntegerField(), (
            PROJECT_QUALITY, IntegerField(required=False, until=NEW))),
        "frame_share": compat.ByVersion(FloatField(), (
            PROJECT_QUALITY, FloatField(required=False, until=NEW))),
        "total_frames": IntegerField(since=PROJECT_QUALITY),
        "validation_frames": IntegerField(since=PROJECT_QUALITY),
        "validation_frame_share": FloatField(since=PROJECT_QUALITY),
        "conflict_count": IntegerField(),
        "warning_count": IntegerField(until=NEW),
        "error_count": IntegerField(),
        "conflicts_by_type": DictField(IntegerField()),
        "valid_count": IntegerField(until=NEW),
        "ds_count": IntegerField(until=NEW),
        "gt_count": IntegerField(until=NEW),
        "total_count": IntegerField(until=NEW),
        "accuracy": FloatField(until=NEW),
        "precision": FloatField(until=NEW),
        "recall": FloatField(until=NEW),
        "tasks": NestedField(TasksSummary, read_only=True, since=PROJECT_QUALITY),
        "jobs": NestedField(JobsSummary, read_only=True, since=PROJECT_QUALITY),
        "requirements": NestedField(RequirementsSummary, required=False, since=NEW),
    }


class QualityReport(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "id": IntegerField(read_only=True),
        "job_id": IntegerField(read_only=True, allow_null=True),
        "task_id": IntegerField(read_only=True, allow_null=True),
        "project_id": IntegerField(read_only=True, allow_null=True, since=PROJECT_QUALITY),
        "parent_id": IntegerField(read_only=True, allow_null=True),
        "target": ChoiceField(("job", "task", "project"), enum_name="QualityReportTarget",
                              choice_versions=changed_choices(PROJECT_QUALITY,
                                                              added=("project",))),
        "summary": NestedField(QualityReportSummary),
        "created_date": DateTimeField(read_only=True),
        "target_last_updated": DateTimeField(read_only=True),
        "gt_last_updated": compat.ByVersion(DateTimeField(read_only=True), (
            PROJECT_QUALITY, DateTimeField(read_only=True, allow_null=True))),
        "assignee": NestedField(BasicUser, read_only=True, allow_null=True),
    }


class ConfusionMatrixAxes(Serializer):
    component = "QualityReportConfusionMatrixAxes"
    fields: ClassVar[dict[str, Field]] = {"cols": CharField(), "rows": CharField()}


class TargetMetricValues(Serializer):
    component = "QualityReportTargetMetricValues"
    fields: ClassVar[dict[str, Field]] = {
        name: FloatField(allow_null=True) for name in ("micro", "mean", "label")}


class TargetMetricSummary(Serializer):
    component = "QualityReportTargetMetricSummary"
    fields: ClassVar[dict[str, Field]] = {
        "metric": ChoiceField(("accuracy", "precision", "recall", "jaccard_index", "dice"),
                              enum_name="QualityReportTargetMetricSummaryMetricEnum"),
        "aggregation": ChoiceField(("micro", "mean", "label"), enum_name="AggregationEnum"),
        "values": NestedField(TargetMetricValues),
        "worst_labels": ListField(CharField()),
    }


class QualityReportConfusionMatrix(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "labels": ListField(CharField()),
        "rows": ListField(ListField(IntegerField())),
        "axes": NestedField(ConfusionMatrixAxes),
        **{name: ListField(FloatField(), allow_null=True)
           for name in ("precision", "recall", "accuracy", "jaccard_index")},
        "dice": ListField(FloatField(), allow_null=True, since=QUALITY_METRICS),
        "target_metric_summary": NestedField(TargetMetricSummary, since=QUALITY_METRICS),
    }


class AnnotationId(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "obj_id": IntegerField(read_only=True),
        "job_id": IntegerField(read_only=True),
        "type": ChoiceField(("tag", "shape", "track"), enum_name="AnnotationIdTypeEnum",
                            read_only=True),
        "shape_type": ChoiceField(SHAPE_TYPES, enum_name="ShapeType", read_only=True,
                                  allow_null=True),
    }


class AnnotationConflict(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "id": IntegerField(read_only=True),
        "frame": IntegerField(read_only=True),
        "type": ChoiceField(CONFLICT_TYPES_226, enum_name="AnnotationConflictTypeEnum",
                            choice_versions=changed_choices(NEW, removed=("low_overlap",)),
                            read_only=True),
        "annotation_ids": ListSerializerField(AnnotationId),
        "report_id": IntegerField(read_only=True),
        "severity": ChoiceField(SEVERITIES_226, enum_name="SeverityEnum", read_only=True,
                                choice_versions=changed_choices(NEW, removed=("warning",))),
        "attribute_names": ListField(CharField(), read_only=True, since=NEW),
    }


# --- consensus (2.80) --------------------------------------------------------------------------
class ConsensusSettings(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "id": IntegerField(read_only=True),
        "task_id": IntegerField(read_only=True),
        "iou_threshold": UnitFloatField(required=False, min_value=0, max_value=1),
        # 2.31-2.55: the share of replicas an annotation needs to be kept
        "quorum": UnitFloatField(required=False, min_value=0, max_value=1,
                                 until=CONSENSUS_QUORUM_GONE),
    }


class ConsensusMergeCreate(Serializer):
    component = "ConsensusMergeCreate"
    fields: ClassVar[dict[str, Field]] = {
        "task_id": IntegerField(write_only=True, required=False),
        "job_id": IntegerField(write_only=True, required=False),
    }
