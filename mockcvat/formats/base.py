"""What a format module sees: a ``Dataset`` (labels, frames, annotations, media) to write, or
an archive to read back into annotations — nothing about HTTP, the database or background work.

Annotations travel in the API's own JSON shape (what ``GET …/annotations/`` returns: ``tags``,
``shapes``, ``tracks`` with ``label_id`` and attribute ``spec_id``s), so the exporter reads exactly
what clients see, and the importer's output is put back through the same path as a client's
``PUT``. Frame numbers are the task's (0-based over the included frames).

A format module exposes::

    EXPORTS = ("CVAT for images 1.1",)           # display names it writes
    IMPORTS = ("CVAT 1.1",)                       # display names it reads
    def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None
        # writes the dataset's files under directory ``out`` (the caller zips it)
    def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict
        # ``source``: a directory (an archive already extracted safely) or a single file;
        # returns {"tags": [...], "shapes": [...], "tracks": [...]} for ``dataset``'s labels and
        # frames; raises ImportFailed with a readable message for anything it cannot use
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class ImportFailed(Exception):
    """A file the format cannot use; the message is shown in the failed request."""


@dataclass(frozen=True)
class AttributeSpec:
    id: int
    name: str
    mutable: bool
    input_type: str  # checkbox | radio | number | text | select
    default_value: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class LabelSpec:
    id: int
    name: str
    color: str
    type: str  # any | rectangle | polygon | ... | skeleton | tag
    attributes: tuple[AttributeSpec, ...] = ()
    parent_id: int | None = None  # skeleton points: the skeleton label
    svg: str = ""


@dataclass(frozen=True)
class Frame:
    frame: int  # the task frame number (0-based)
    name: str  # the media file name as uploaded (relative path)
    width: int
    height: int
    task_id: int = 0
    subset: str = ""  # the task's subset (projects: "default" when empty, as CVAT names it)
    deleted: bool = False


@dataclass
class Dataset:
    """One task, job or project, ready to be written or read into."""

    kind: str  # task | job | project
    id: int
    name: str
    mode: str  # annotation (images) | interpolation (video)
    labels: list[LabelSpec]
    frames: list[Frame]
    annotations: dict[str, list[dict[str, Any]]]  # the API's LabeledData (no "version")
    # the original bytes of a frame's image, and the extension to save it with (".png", ...)
    image: Callable[[Frame], tuple[bytes, str]] = field(repr=False, default=lambda f: (b"", ""))
    meta: dict[str, Any] = field(default_factory=dict)  # created/updated dates, owner, size...
    dimension: str = "2d"  # "3d": frames are point clouds (PCD files), cuboids are 3D
    # a frame's context images: (file name as uploaded, original bytes), in CVAT's order
    related: Callable[[Frame], list[tuple[str, bytes]]] = field(repr=False,
                                                                default=lambda f: [])
    # not None: unknown top-level label names are accepted and collected here instead of
    # failing the import (a project import that makes its labels from the dataset)
    learned_labels: list[str] | None = None

    # --- conveniences for format modules -------------------------------------------------
    def label(self, label_id: int) -> LabelSpec:
        return self._labels_by_id()[label_id]

    def label_named(self, name: str, parent_id: int | None = None) -> LabelSpec | None:
        for label in self.labels:
            if label.name == name and label.parent_id == parent_id:
                return label
        if self.learned_labels is not None and parent_id is None:
            self.learned_labels.append(name)
            learned = LabelSpec(id=-len(self.learned_labels), name=name, color="", type="any")
            self.labels.append(learned)
            return learned
        return None

    def attribute(self, label_id: int, spec_id: int) -> AttributeSpec | None:
        return next((a for a in self.label(label_id).attributes if a.id == spec_id), None)

    def top_labels(self) -> list[LabelSpec]:
        return [label for label in self.labels if label.parent_id is None]

    def _labels_by_id(self) -> dict[int, LabelSpec]:
        return {label.id: label for label in self.labels}
