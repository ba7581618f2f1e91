"""Serializers of AI function calls (CVAT's ``lambda_manager/serializers.py``)."""

from __future__ import annotations

from typing import ClassVar

from mockcvat.schemas.fields import (
    BooleanField,
    CharField,
    DateTimeField,
    DictField,
    Field,
    FloatField,
    IntegerField,
    ListField,
    NestedField,
    Serializer,
)

# ``roi`` (cvat-sdk 2.70; PR 10794 "Introduce region of interest for detectors and
# interactors": the server crops the frame before the function and moves the results back)
ROI = "2.70.0"


class SublabelMappingEntry(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "name": CharField(),
        "attributes": DictField(CharField(), required=False),
    }


class LabelMappingEntry(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "name": CharField(),
        "attributes": DictField(CharField(), required=False),
        "sublabels": DictField(SublabelMappingEntry, required=False,
                               help_text="Label mapping for from the model to the task sublabels "
                                         "within a parent label"),
    }


class FunctionCallRequest(Serializer):
    @classmethod
    def component_name(cls, *, request: bool = False, partial: bool = False) -> str:
        return "FunctionCallRequest"  # drf-spectacular adds no second "Request"

    fields: ClassVar[dict[str, Field]] = {
        "function": CharField(help_text="The name of the function to execute"),
        "task": IntegerField(help_text="The id of the task to be annotated"),
        "job": IntegerField(required=False, help_text="The id of the job to be annotated"),
        "max_distance": IntegerField(required=False),
        "threshold": FloatField(required=False),
        "cleanup": BooleanField(required=False, default=False,
                                help_text="Whether existing annotations should be removed"),
        "convMaskToPoly": BooleanField(required=False, write_only=True,
                                       help_text="Deprecated; use conv_mask_to_poly instead"),
        "conv_mask_to_poly": BooleanField(required=False,
                                          help_text="Convert mask shapes to polygons"),
        "mapping": DictField(LabelMappingEntry, required=False,
                             help_text="Label mapping from the model to the task labels"),
        "roi": ListField(IntegerField(), required=False, min_length=4, max_length=4, since=ROI,
                         help_text="Region of interest as [xtl, ytl, xbr, ybr]"),
    }


class FunctionCallParams(Serializer):
    omit_missing = True  # ``job`` only for a job's request
    fields: ClassVar[dict[str, Field]] = {
        "id": CharField(allow_null=True, help_text="The name of the function"),
        "task": IntegerField(allow_null=True, help_text="The id of the task"),
        "job": IntegerField(required=False, help_text="The id of the job"),
        "threshold": FloatField(allow_null=True),
    }


class FunctionCall(Serializer):
    omit_missing = True
    fields: ClassVar[dict[str, Field]] = {
        "id": CharField(help_text="Request id"),
        "function": NestedField(FunctionCallParams),
        "status": CharField(allow_null=True),
        "progress": IntegerField(required=False, allow_null=True, default=0),
        "enqueued": DateTimeField(allow_null=True),
        "started": DateTimeField(allow_null=True),
        "ended": DateTimeField(allow_null=True),
        "exc_info": CharField(required=False, allow_null=True),
    }


class OnlineFunctionCall(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "job": IntegerField(required=False),
        "task": IntegerField(required=False),
    }
