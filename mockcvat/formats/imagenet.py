"""ImageNet 1.0 — tags only.

CVAT 2.26 (``formats/imagenet.py``) writes with datumaro's ``imagenet`` converter when images are
saved and ``imagenet_txt`` otherwise:

* without images: ``<subset>.txt`` (``default.txt`` for a task), one line per frame:
  ``<item id><image ext> <label index> …`` — indices into ``synsets.txt`` (every label name, one a
  line, skeleton points included), each distinct tag label once, ascending; a frame without tags
  still gets its line (``"<name> "``, with the trailing space); an id containing whitespace is
  quoted (``"my img".jpg``);
* with images: only images, ``<label>/<label>_<item id><image ext>`` once per distinct tag label,
  ``no_label/no_label_<item id><image ext>`` for a frame without tags (CVAT's format docs show
  the same ``label1/label1_image1.jpg`` layout).

Import (CVAT: ``imagenet_txt`` when the archive root has a ``*.txt``, else the folder layout)
gives the tags back: label, frame; nothing else.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from .base import Dataset, ImportFailed
from .common import IMAGE_EXTS as _IMAGE_EXTS
from .common import FrameMatcher, frame_items, group_by_subset, label_by_name, read_text

EXPORTS = ("ImageNet 1.0",)
IMPORTS = ("ImageNet 1.0",)

LABELS_FILE = "synsets.txt"
NO_LABEL = "no_label"


def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"imagenet cannot write {format_name!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    index = {label.id: i for i, label in enumerate(dataset.labels)}
    items = frame_items(dataset)
    if save_images:
        for item in items:
            names = sorted({dataset.label(t["label_id"]).name for t in item.tags})
            data, _ext = dataset.image(item.frame)
            if not data:
                continue
            for name in names or [NO_LABEL]:
                target = out / name / f"{name}_{item.id}{item.ext('.jpg')}"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        return
    for subset, subset_items in group_by_subset(items).items():
        lines = []
        for item in subset_items:
            item_id = f'"{item.id}"' if len(item.id.split()) > 1 else item.id
            labels = sorted({index[t["label_id"]] for t in item.tags})
            lines.append(f"{item_id}{item.ext('.jpg')} {' '.join(map(str, labels))}\n")
        (out / f"{subset}.txt").write_text("".join(lines), encoding="utf-8")
    (out / LABELS_FILE).write_text("".join(f"{label.name}\n" for label in dataset.labels),
                                   encoding="utf-8")


def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict[str, Any]:
    if format_name not in IMPORTS:
        raise ImportFailed(f"imagenet cannot read {format_name!r}")
    source = Path(source)
    if not source.is_dir():
        raise ImportFailed("Failed to import the annotations: a ZIP archive is expected")
    matcher = FrameMatcher(dataset)
    found = _from_lists(source) if list(source.glob("*.txt")) else _from_folders(source)
    tags = []
    for item_id, names in found:
        frame = matcher.match(item_id)
        for name in names:
            label = label_by_name(dataset, name)
            tags.append({"frame": frame.frame, "label_id": label.id, "group": 0,
                         "source": "manual", "attributes": []})
    return {"tags": tags, "shapes": [], "tracks": []}


def _from_lists(root: Path) -> list[tuple[str, list[str]]]:
    labels_path = root / LABELS_FILE
    if not labels_path.is_file():
        raise ImportFailed(f"Dataset must contain a file: {LABELS_FILE}")
    labels = [s.strip() for s in read_text(labels_path).splitlines()]
    found = []
    for path in sorted(p for p in root.glob("*.txt") if p.name != LABELS_FILE):
        for number, line in enumerate(read_text(path).splitlines(), 1):
            if not line.strip():
                continue
            item_id, label_ids = _parse_line(line, f"{path.name}:{number}")
            names = []
            for label_id in label_ids:
                if label_id < 0:
                    raise ImportFailed(f"Image '{item_id}': invalid label id '{label_id}'")
                if label_id >= len(labels):
                    raise ImportFailed(f"Image '{item_id}': unknown label id '{label_id}'")
                names.append(labels[label_id])
            found.append((item_id, names))
    return found


def _parse_line(line: str, where: str) -> tuple[str, list[int]]:
    """datumaro's ``_parse_annotation_line``: ``<image> <label id>…``, the image name
    possibly quoted."""
    quoted = line.split('"')
    try:
        if len(quoted) > 1:
            if len(quoted) != 3:
                raise ImportFailed(f"{where}: unexpected number of quotes in filename")
            rest = quoted[2].split()
            return quoted[1], [int(v) for v in rest[1:]]
        fields = line.split()
        return posixpath.splitext(fields[0])[0], [int(v) for v in fields[1:]]
    except ValueError:
        raise ImportFailed(f"{where}: label ids must be integers") from None


def _from_folders(root: Path) -> list[tuple[str, list[str]]]:
    items: dict[str, list[str]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        label = folder.name
        for image in sorted(p for p in folder.iterdir() if p.is_file()):
            if image.suffix.lower() not in _IMAGE_EXTS:
                continue
            name = image.stem
            if name.startswith(label + "_"):
                name = name[len(label) + 1:]
            names = items.setdefault(name, [])
            if label != NO_LABEL:
                names.append(label)
    return list(items.items())
