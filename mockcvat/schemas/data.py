"""Task data serializers: what ``POST /api/tasks/{id}/data`` takes and what ``.../data/meta`` shows.

Classes -> components: ``Data`` -> ``DataRequest`` (CVAT's ``DataSerializer``; request only),
``ValidationParams`` -> ``ValidationParamsRequest``, ``DataMetaRead``, ``FrameMeta``,
``DataMetaWrite`` -> ``PatchedDataMetaWriteRequest``, ``RqId``, ``DataResponse`` (a oneOf of
``RqId`` and a binary string), and the enums ``ChunkType``, ``StorageMethod``,
``StorageType``, ``SortingMethod``, ``ValidationMode`` and ``FrameSelectionMethod`` (CVAT's
``JobFrameSelectionMethod``, shared with jobs).

Validation done here (``cvat/apps/engine/serializers.py``, 2.26):

* ``DataSerializer.validate_frame_filter``: ``re.search(r"step\\s*=\\s*([1-9]\\d*)")`` must match,
  else ``{"frame_filter": ["Invalid frame filter expression"]}`` (so ``""`` is rejected too);
  ``validate_chunk_size``: ``0`` -> ``["Chunk size must be a positive integer"]`` (CVAT calls it
  with ``null`` too and fails with a 500; here ``null`` passes); ``validate_job_file_mapping``: a
  file twice -> ``["The same file '<f>' cannot be used multiple times in the job file mapping"]``.
* ``DataSerializer.validate`` (``non_field_errors``): ``"Stop frame must be more or equal start
  frame"``; ``filename_pattern`` with a ``server_files`` entry not ending in ``.jsonl`` -> ``"The
  filename_pattern can only be used with specified manifest or without server_files"``;
  ``filename_pattern`` with ``server_files_exclude`` -> ``"The filename_pattern and
  server_files_exclude cannot be used together"``.
* ``ValidationParamsSerializer.validate`` (under ``validation_params``): see
  ``ValidationParams.validate_object``; ``frame_share``/``frames_per_job_share`` outside [0, 1]
  -> ``["Value must be in the range [0; 1]"]``.
* ``image_quality`` is required (0..100) although the model defaults to 50; ``client_files``,
  ``server_files`` and ``remote_files`` items are taken as they are (CVAT's file serializers do
  not validate them; the schema's 1..1024 length is the model's and is not enforced).

Left to the service (``views.py`` ``TaskViewSet.data``/``upload_finished`` and ``task.py``
``_create_thread``): ``"Adding more data is not supported"``, the job file mapping vs. the input
files, ``upload_file_order`` vs. ``sorting_method``, the share paths, the cloud storage, etc.

``DataMetaWrite`` (``PATCH /api/tasks/{id}/data/meta``, validated non-partially although the
component is ``Patched...``): in ``DataMetaWriteSerializer.update``, repeated frames -> ``"Deleted
frames cannot repeat"``; frames outside ``range(size)`` -> ``"Unknown frames <f1, f2> requested
for removal"`` (``format_list``); with a ``gt_pool`` validation layout, newly deleted GT frames ->
``"When task validation mode is gt_pool, GT frames can only be deleted and restored via the GT
job's api/jobs/{id}/data/meta endpoint"``.

"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from mockcvat import compat
from mockcvat.compat import ByVersion
from mockcvat.errors import ValidationFailed
from mockcvat.schemas.fields import (
    BooleanField,
    CharField,
    ChoiceField,
    DateTimeField,
    Field,
    FloatField,
    IntegerField,
    ListField,
    ListSerializerField,
    NestedField,
    Serializer,
    enum_choices,
)

MAX_FILENAME_LENGTH = 1024
MAX_INT = 2147483647

CHUNK_TYPES = ("video", "imageset", "list")
STORAGE_METHODS = ("cache", "file_system")
STORAGE_TYPES = ("cloud_storage", "local", "share")
SORTING_METHODS = ("lexicographical", "natural", "predefined", "random")
VALIDATION_MODES = ("gt", "gt_pool")
FRAME_SELECTION_METHODS = ("random_uniform", "random_per_job", "manual")
RANDOM_UNIFORM, RANDOM_PER_JOB, MANUAL = FRAME_SELECTION_METHODS

_STEP = re.compile(r"step\s*=\s*([1-9]\d*)")


def chunk_type_field(**kwargs: Any) -> ChoiceField:
    return ChoiceField(enum_choices(CHUNK_TYPES), enum_name="ChunkType", **kwargs)


def frame_selection_method_field(**kwargs: Any) -> ChoiceField:
    return ChoiceField(enum_choices(FRAME_SELECTION_METHODS), enum_name="FrameSelectionMethod",
                       **kwargs)


# --- CVAT's field_validation module ---------------------------------------------------------------
def validate_share(value: float) -> float:
    if not 0 <= value <= 1:
        raise ValidationFailed(["Value must be in the range [0; 1]"])
    return value


def require_one_of_fields(data: dict[str, Any], keys: list[str]) -> None:
    count = sum(key in data for key in keys)
    if count == 1:
        return
    options = ", ".join(f'"{k}"' for k in keys)
    if not count:
        raise ValidationFailed([f"One of the fields {options} required"])
    raise ValidationFailed([f"Only 1 of the fields {options} can be used"])


def require_field(data: dict[str, Any], key: str) -> None:
    if key not in data:
        raise ValidationFailed([f'The "{key}" field is required'])


def require_one_of_values(data: dict[str, Any], key: str, values: list[str]) -> None:
    if data.get(key) not in values:
        if len(values) == 1:
            raise ValidationFailed([f'The "{key}" field must be {values[0]}'])
        raise ValidationFailed([f'The "{key}" field must be one of {", ".join(values)}'])


def only_with_manual(data: dict[str, Any], key: str, method: str | None) -> None:
    if key in data and method != MANUAL:
        raise ValidationFailed(
            [f'"{key}" can only be used when "frame_selection_method" is "{MANUAL}"'])


# --- fields -----------------------------------------------------------------------------------
class _AnyFile(Field):
    """An item of ``client_files``: CVAT's ``ClientFileSerializer`` takes any non-null value."""

    openapi_type = "string"
    openapi_format = "binary"


class _FilePath(CharField):
    """An item of ``server_files``/``remote_files``: shown as the model column, not checked."""

    def to_internal(self, value: Any) -> Any:
        return value


def _file_paths(help_text: str) -> ListSerializerField:
    return ListSerializerField(_FilePath(max_length=MAX_FILENAME_LENGTH), default=[],
                               help_text=help_text)


def _filename(**kwargs: Any) -> CharField:
    return CharField(max_length=MAX_FILENAME_LENGTH, **kwargs)


def _check_frame_filter(value: str) -> str:
    if not _STEP.search(value):
        raise ValidationFailed(["Invalid frame filter expression"])
    return value


def _check_chunk_size(value: int) -> int:
    if not value > 0:
        raise ValidationFailed(["Chunk size must be a positive integer"])
    return value


def _check_job_file_mapping(value: list[list[str]]) -> list[list[str]]:
    seen: set[str] = set()
    for job_files in value:
        for filename in job_files:
            if filename in seen:
                raise ValidationFailed([f"The same file '{filename}' cannot be used multiple "
                                        "times in the job file mapping"])
            seen.add(filename)
    return value


JOB_FILE_MAPPING_HELP = """
Represents a file-to-job mapping.
Useful to specify a custom job configuration during task creation.
This option is not compatible with most other job split-related options.
Files in the jobs must not overlap or repeat.
Job file mapping files must be a subset of the input files.
If directories are specified in server_files, all files obtained by recursive search
in the specified directories will be used as input files.
In case of missing items in the input files, an error will be raised.

Example:
[

    ["file1.jpg", "file2.jpg"], # job #1 files
    ["file3.png"], # job #2 files
    ["file4.jpg", "file5.png", "file6.bmp"], # job #3 files
]
"""

SERVER_FILES_EXCLUDE_HELP = """\
Paths to files and directories from a file share mounted on the server, or from a cloud storage
that should be excluded from the directories specified in server_files.
This option cannot be used together with filename_pattern.
The server_files_exclude parameter cannot be used to exclude a part of dataset from an archive.

Examples:

Exclude all files from subfolder 'sub/sub_1/sub_2'and single file 'sub/image.jpg' \
from specified folder:
server_files = ['sub/'], server_files_exclude = ['sub/sub_1/sub_2/', 'sub/image.jpg']

Exclude all cloud storage files with prefix 'sub' from the content of manifest file:
server_files = ['manifest.jsonl'], server_files_exclude = ['sub/']
"""

UPLOAD_FILE_ORDER_HELP = """\
Allows to specify file order for client_file uploads.
Only valid with the "predefined" sorting method selected.

To state that the input files are sent in the correct order,
pass an empty list.

If you want to send files in an arbitrary order
and reorder them afterwards on the server,
pass the list of file names in the required order.
"""

RANDOM_SEED_HELP = """\
The seed value for the random number generator.
The same value will produce the same frame sets.
Applicable only to random frame selection methods.
By default, a random value is used.
"""


# --- serializers ------------------------------------------------------------------------------
class ValidationParams(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "mode": ChoiceField(enum_choices(VALIDATION_MODES), enum_name="ValidationMode"),
        # cvat-sdk 2.65: optional in the field (validate() still asks for one per mode)
        "frame_selection_method": ByVersion(frame_selection_method_field(),
                                            (compat.RELEASE_2_65,
                                             frame_selection_method_field(required=False))),
        "random_seed": IntegerField(min_value=0, required=False, help_text=RANDOM_SEED_HELP),
        "frames": ListField(
            _filename(), write_only=True, required=False,
            help_text="The list of file names to be included in the validation set.\n"
            'Applicable only to the "manual" frame selection method.\n'
            "Can only be used for images.\n"),
        "frame_count": IntegerField(
            min_value=1, required=False,
            help_text="The number of frames to be included in the validation set.\n"
            'Applicable only to the "random_uniform" frame selection method\n'),
        "frame_share": FloatField(
            required=False, checks=[validate_share],
            help_text="The share of frames to be included in the validation set.\n"
            'Applicable only to the "random_uniform" frame selection method\n'),
        "frames_per_job_count": IntegerField(
            min_value=1, required=False,
            help_text="The number of frames to be included in the validation set from each "
            'annotation job.\nApplicable only to the "random_per_job" frame selection method\n'),
        "frames_per_job_share": FloatField(
            required=False, checks=[validate_share],
            help_text="The share of frames to be included in the validation set from each "
            'annotation job.\nApplicable only to the "random_per_job" frame selection method\n'),
    }

    @classmethod
    def validate_object(cls, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        """``ValidationParamsSerializer.validate``; every message is a ``non_field_errors``."""
        method = data.get("frame_selection_method")
        if data.get("mode") == "gt":
            require_one_of_values(data, "frame_selection_method",
                                  [MANUAL, RANDOM_UNIFORM, RANDOM_PER_JOB])
        elif data.get("mode") == "gt_pool":
            require_one_of_values(data, "frame_selection_method", [MANUAL, RANDOM_UNIFORM])
            require_one_of_fields(data, ["frames_per_job_count", "frames_per_job_share"])
        if method == RANDOM_UNIFORM:
            require_one_of_fields(data, ["frame_count", "frame_share"])
        elif method == RANDOM_PER_JOB:
            require_one_of_fields(data, ["frames_per_job_count", "frames_per_job_share"])
        elif method == MANUAL:
            require_field(data, "frames")
        only_with_manual(data, "frames", method)
        frames = data.get("frames")
        if frames and len(set(frames)) != len(frames):
            raise ValidationFailed(["Frames must not repeat"])
        return data


class Data(Serializer):
    """CVAT's ``DataSerializer``; its only component is the request one, ``DataRequest``."""

    description = ("Read more about parameters here:\n"
                   "https://docs.cvat.ai/docs/manual/basics/create_an_annotation_task/"
                   "#advanced-configuration")
    fields: ClassVar[dict[str, Field]] = {
        "chunk_size": IntegerField(min_value=0, max_value=MAX_INT, allow_null=True,
                                   required=False, checks=[_check_chunk_size],
                                   help_text="Maximum number of frames per chunk"),
        # cvat-sdk 2.65: optional (audio tasks), at least 1
        "image_quality": ByVersion(
            IntegerField(min_value=0, max_value=100,
                         help_text="Image quality to use during annotation"),
            (compat.RELEASE_2_65,
             IntegerField(min_value=1, max_value=100, required=False,
                          help_text="Image quality to use during annotation, required for "
                          "image and video-based tasks"))),
        "start_frame": IntegerField(min_value=0, max_value=MAX_INT, required=False,
                                    help_text="First frame index"),
        "stop_frame": IntegerField(min_value=0, max_value=MAX_INT, required=False,
                                   help_text="Last frame index"),
        "frame_filter": CharField(
            max_length=256, allow_blank=True, required=False, checks=[_check_frame_filter],
            help_text="Frame filter. The only supported syntax is: 'step=N'"),
        "client_files": ListSerializerField(
            _AnyFile(), default=[],
            help_text="\nUploaded files.\nMust contain all files from job_file_mapping if "
            "job_file_mapping is not empty.\n"),
        "server_files": _file_paths(
            "\nPaths to files from a file share mounted on the server, or from a cloud "
            "storage.\nMust contain all files from job_file_mapping if job_file_mapping is not "
            "empty.\n"),
        "remote_files": _file_paths(
            "\nDirect download URLs for files.\nMust contain all files from job_file_mapping "
            "if job_file_mapping is not empty.\n"),
        "use_zip_chunks": BooleanField(
            default=False,
            help_text="When true, video chunks will be represented as zip archives with decoded "
            "video frames.\nWhen false, video chunks are represented as video segments\n"),
        "server_files_exclude": ListField(
            _filename(), required=False, default=[],
            help_text=SERVER_FILES_EXCLUDE_HELP),
        "cloud_storage_id": IntegerField(
            write_only=True, allow_null=True, required=False,
            help_text="If not null, the files referenced by server_files will be retrieved\n"
            "from the cloud storage with the specified ID.\n"
            "The cloud storages applicable depend on the context.\n"
            "In the user sandbox, only the user sandbox cloud storages can be used.\n"
            "In an organization, only the organization cloud storages can be used.\n"),
        "use_cache": BooleanField(
            default=False,
            help_text="Enable or disable task data chunk caching for the task.\n"
            "Read more: https://docs.cvat.ai/docs/manual/advanced/data_on_fly/\n"),
        "copy_data": BooleanField(
            default=False,
            help_text="Copy data from the server file share to CVAT during the task creation.\n"
            "This will create a copy of the data, making the server independent from\n"
            "the file share availability\n"),
        "storage_method": ChoiceField(enum_choices(STORAGE_METHODS), enum_name="StorageMethod",
                                      required=False),
        # cvat-sdk 2.49: gone (the storage follows from the files and copy_data anyway)
        "storage": ChoiceField(enum_choices(STORAGE_TYPES), enum_name="StorageType",
                               required=False, until="2.49.0"),
        "sorting_method": ChoiceField(enum_choices(SORTING_METHODS), enum_name="SortingMethod",
                                      required=False),
        "filename_pattern": CharField(
            allow_null=True, required=False,
            help_text="A filename filter for cloud storage files\nlisted in the manifest. "
            "Supports fnmatch wildcards.\n"
            "Read more: https://docs.python.org/3/library/fnmatch.html\n"),
        "job_file_mapping": ListField(
            ListField(_filename(), allow_empty=False), allow_empty=False, required=False,
            write_only=True, checks=[_check_job_file_mapping], help_text=JOB_FILE_MAPPING_HELP),
        "upload_file_order": ListField(
            _filename(), default=list, write_only=True,
            help_text=UPLOAD_FILE_ORDER_HELP),
        "validation_params": NestedField(ValidationParams, allow_null=True, required=False),
    }

    @classmethod
    def validate_object(cls, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        """``DataSerializer.validate``."""
        if ("start_frame" in data and "stop_frame" in data
                and data["start_frame"] > data["stop_frame"]):
            raise ValidationFailed(["Stop frame must be more or equal start frame"])
        pattern = data.get("filename_pattern")
        server_files = data.get("server_files") or []
        if pattern and any(not str(f).endswith(".jsonl") for f in server_files):
            raise ValidationFailed(["The filename_pattern can only be used with specified "
                                    "manifest or without server_files"])
        if pattern and data.get("server_files_exclude"):
            raise ValidationFailed(
                ["The filename_pattern and server_files_exclude cannot be used together"])
        return data


def _frame_side() -> ByVersion[Any]:
    """A frame's width or height: optional from cvat-sdk 2.65 (audio frames have none)."""
    return ByVersion(IntegerField(), (compat.RELEASE_2_65, IntegerField(required=False)))


class FrameMeta(Serializer):
    omit_missing = True
    fields: ClassVar[dict[str, Any]] = {
        "width": _frame_side(),
        "height": _frame_side(),
        "name": _filename(),
        "related_files": IntegerField(),
        # for compatibility with 2.3.0 (a SerializerMethodField)
        "has_related_context": BooleanField(
            read_only=True, source=lambda f: _get(f, "related_files") != 0),
    }


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


class ChapterMetadata(Serializer):
    fields: ClassVar[dict[str, Field]] = {"title": CharField(required=False)}


class Chapter(Serializer):
    """A chapter of a video (2.52+): its frame range in the video's own numbering."""

    fields: ClassVar[dict[str, Field]] = {
        "id": IntegerField(),
        "start": IntegerField(),
        "stop": IntegerField(),
        "metadata": NestedField(ChapterMetadata),
    }


class DataMetaRead(Serializer):
    """``included_frames`` is ``null`` for tasks and the frames of a ground-truth job."""

    omit_missing = True
    fields: ClassVar[dict[str, Field]] = {
        "chunks_updated_date": DateTimeField(),
        "chunk_size": IntegerField(read_only=True, allow_null=True),
        "size": IntegerField(read_only=True, help_text="The number of frames included. Deleted "
                             "frames do not affect this value.\n"),
        "image_quality": ByVersion(IntegerField(min_value=0, max_value=100),
                                   (compat.RELEASE_2_65,
                                    IntegerField(min_value=0, max_value=100, required=False))),
        "start_frame": IntegerField(read_only=True),
        "stop_frame": IntegerField(read_only=True),
        "frame_filter": CharField(read_only=True),
        "frames": ListSerializerField(FrameMeta, allow_null=True),
        "deleted_frames": ListField(IntegerField(min_value=0)),
        "included_frames": ListField(
            IntegerField(min_value=0), allow_null=True, required=False,
            help_text="A list of valid frame ids. The None value means all frames are "
            "included.\n"),
        # cvat-sdk 2.44 (PR 9528): where the data lives and its cloud storage, if any
        "storage": ChoiceField(enum_choices(STORAGE_TYPES), enum_name="StorageType",
                               read_only=True, since=compat.TRANSFERS),
        "cloud_storage_id": IntegerField(read_only=True, allow_null=True,
                                         since=compat.TRANSFERS),
        # cvat-sdk 2.52: the chapters of a video (``null`` for images)
        "chapters": ListSerializerField(Chapter, allow_null=True, required=False,
                                        since="2.52.0"),
    }


class DataMetaWrite(Serializer):
    fields: ClassVar[dict[str, Field]] = {
        "deleted_frames": ListField(IntegerField(min_value=0)),
        # cvat-sdk 2.44: re-link the data to a cloud storage, or unlink it (``null``), e.g.
        # after a transfer to another organization reset it
        "cloud_storage_id": IntegerField(allow_null=True, required=False,
                                         since=compat.TRANSFERS),
    }


class RqId(Serializer):
    fields: ClassVar[dict[str, Field]] = {"rq_id": CharField(help_text="Request id")}


class DataResponse(Serializer):
    """``POST /api/tasks/{id}/data``: ``{"rq_id": ...}`` (``RqId``), or a file for GET."""

    one_of = (RqId, {"type": "string", "format": "binary"})
    fields: ClassVar[dict[str, Field]] = {}
