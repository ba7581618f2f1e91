"""Market-1501 1.0 — person re-identification: image names carry the person, camera, track,
frame and box numbers. CVAT 2.26 (``cvat/apps/dataset_manager/formats/market1501.py``) keeps
them as the attributes of a tag of the label ``market-1501`` (``person_id``, ``camera_id``,
``track_id``, ``frame_id``, ``bbox_id``, ``query``) and writes through datumaro's
``market1501``::

    images_<subset>.txt                   one image path a line, for every frame
    bounding_box_<subset>/<name><ext>     with save_images (``query/`` for a query image)

``<name>`` is the frame's own name when it already follows the pattern
``<person>_c<camera>s<track>_<frame:06d>_<box:02d>``; else, with a ``person_id``, it is built
from the tag's attributes (camera numbers are 1-based in names, 0-based in attributes);
otherwise the frame's name. Import parses the names back into a ``market-1501`` tag (``query``
is true only for images found in a ``query/`` folder, i.e. exported with images). Lost: every
other annotation, and the frame names of tagged frames that did not follow the pattern.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .base import Dataset, ImportFailed
from .common import Importer, frame_items, group_by_subset, read_text, to_bool, write_image

EXPORTS = ("Market-1501 1.0",)
IMPORTS = ("Market-1501 1.0",)

LABEL = "market-1501"
QUERY_DIR, BBOX_DIR, LIST_PREFIX = "query", "bounding_box_", "images_"
PATTERN = re.compile(r"^(-?\d+)_c(\d+)s(\d+)_(\d+)_(\d+)(.*)")


def _tag_attributes(dataset: Dataset, tags: list[dict]) -> dict[str, str]:
    """``LabelAttrToAttr``: the attributes of the frame's one ``market-1501`` tag."""
    ours = [t for t in tags if dataset.label(t["label_id"]).name == LABEL
            and dataset.label(t["label_id"]).parent_id is None]
    if len(ours) != 1:
        return {}
    label = dataset.label(ours[0]["label_id"])
    given = {a["spec_id"]: a["value"] for a in ours[0].get("attributes", [])}
    return {spec.name: given.get(spec.id, spec.default_value) for spec in label.attributes}


def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"market1501 cannot write {format_name!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for subset, items in group_by_subset(frame_items(dataset)).items():
        lines, used_frames = [], {}
        for item in items:
            attrs = _tag_attributes(dataset, item.tags)
            folder = QUERY_DIR if to_bool(attrs.get("query", False)) else BBOX_DIR + subset
            name = item.id
            pid = attrs.get("person_id")
            if not PATTERN.fullmatch(item.id) and pid:
                # a non-number fails the export with int()'s ValueError, as in CVAT
                cid = int(attrs.get("camera_id", 0)) + 1
                tid = int(attrs.get("track_id", 1))
                bbid = int(attrs.get("bbox_id", 0))
                fid = int(attrs.get("frame_id", max(used_frames.get((pid, cid, tid), [-1])) + 1))
                name = "/".join(filter(None, [os.path.dirname(item.id),
                                              f"{pid}_c{cid}s{tid}_{fid:06d}_{bbid:02d}"]))
            _data, ext = dataset.image(item.frame) if save_images else (b"", "")
            path = f"{folder}/{name}{item.ext(ext or '.jpg')}"
            if save_images:
                write_image(dataset, item.frame, out / path)
            found = PATTERN.search(name)
            if found:
                groups = found.groups()
                used_frames.setdefault(groups[0:2], []).append(int(groups[3]))
            lines.append(path + "\n")
        (out / f"{LIST_PREFIX}{subset}.txt").write_text("".join(lines), encoding="utf-8")


def image_layout(parts: tuple[str, ...]) -> tuple[str, str] | None:
    """Where a project import finds the images: ``bounding_box_<subset>/…`` and ``query/…``."""
    if len(parts) >= 2 and parts[0].startswith(BBOX_DIR):
        return parts[0][len(BBOX_DIR):], "/".join(parts[1:])
    if len(parts) >= 2 and parts[0] == QUERY_DIR:
        return QUERY_DIR, "/".join(parts[1:])
    return None


def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict[str, Any]:
    if format_name not in IMPORTS:
        raise ImportFailed(f"market1501 cannot read {format_name!r}")
    source = Path(source)
    entries = sorted(source.iterdir()) if source.is_dir() else []
    paths: list[tuple[str, str]] = []  # (subset, image path relative to the root)
    for entry in entries:
        if entry.is_file() and entry.name.startswith(LIST_PREFIX):
            subset = os.path.splitext(entry.name[len(LIST_PREFIX):])[0]
            paths += [(subset, line.strip()) for line in read_text(entry).splitlines()
                      if line.strip()]
        elif entry.is_dir() and entry.name.startswith((BBOX_DIR, QUERY_DIR)):
            subset = QUERY_DIR if entry.name.startswith(QUERY_DIR) else entry.name[len(BBOX_DIR):]
            paths += [(subset, p.relative_to(source).as_posix())
                      for p in sorted(entry.rglob("*")) if p.is_file()]
    if not any(e.name.startswith((BBOX_DIR, QUERY_DIR, LIST_PREFIX)) for e in entries):
        raise ImportFailed(
            "Check [format docs](https://docs.cvat.ai/docs/manual/advanced/formats/"
            "format-market1501). Dataset must contain a file: images_<subset>.txt")
    importer = Importer(dataset)
    items: dict[str, dict[str, Any]] = {}
    for subset, path in sorted(paths, key=lambda p: p[1]):
        item_id = os.path.splitext(os.path.normpath(path))[0].replace(os.sep, "/")
        item_id = item_id.split("/", 1)[1] if "/" in item_id else item_id
        attrs: dict[str, Any] = {}
        found = PATTERN.search(os.path.basename(item_id))
        if found:
            pid, cid, tid, fid, bbid, custom = found.groups()
            attrs = {"person_id": pid, "camera_id": int(cid) - 1, "track_id": int(tid),
                     "frame_id": int(fid), "bbox_id": int(bbid), "query": subset == QUERY_DIR}
            if custom:
                item_id = "/".join(filter(None, [os.path.dirname(item_id), custom]))
        items.setdefault(item_id, attrs)
    hint = importer.root_hint(list(items))
    for item_id, attrs in items.items():
        frame = importer.match(item_id, hint)
        if attrs:  # AttrToLabelAttr
            with importer.annotation(item_id, 0, "label"):
                raw = {k: ("true" if v else "false") if isinstance(v, bool) else v
                       for k, v in attrs.items()}
                importer.add_tag(label=importer.label(LABEL), frame=frame, raw=raw)
    return importer.result()
