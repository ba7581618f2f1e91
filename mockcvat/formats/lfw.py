"""LFW 1.0 — Labeled Faces in the Wild: a person (tag) per image, pairs and landmarks, as CVAT
2.26 writes them through datumaro's ``lfw`` (cvat-ai/datumaro ``plugins/lfw_format.py``)::

    <subset>/annotations/pairs.txt       "person\\tn1\\tn2" (the tag's ``positive_pairs``),
                                         "person\\tn1\\tperson2\\tn2" (``negative_pairs``), then
                                         "person/<item id>" for a tagged frame without pairs
    <subset>/annotations/landmarks.txt   "person/<item id>.jpg\\tx1\\ty1\\t…" for each points
                                         shape of a tagged frame (labelled by its own label)
    <subset>/annotations/people.txt      "name\\tcount" for every label (tagged frames)
    <subset>/images/<person>/<item id><ext>   with save_images (untagged: images/<item id>)

The person is the frame's first tag. Import reads the lines back: a tag per item (the first
directory of its line), points shapes from the landmarks (a frame seen only there gets no
tag). Lost: every tag but a frame's first, every shape but the points of tagged frames, all
attributes but the pair lists, occluded, z_order, groups.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .base import Dataset, ImportFailed
from .common import Importer, Labels, frame_items, group_by_subset, read_text, write_image

EXPORTS = ("LFW 1.0",)
IMPORTS = ("LFW 1.0",)

ANNOTATION_DIR, IMAGES_DIR = "annotations", "images"
PAIRS, LANDMARKS, PEOPLE = "pairs.txt", "landmarks.txt", "people.txt"
_PATTERN = re.compile(r"([\w-]+)_([-\d]+)")


def _number(person: str, item_id: str) -> str:
    """datumaro writes ``int(rest)`` of an id that starts with the person's name (anything else
    there fails the export with int()'s ValueError, as in CVAT)."""
    if item_id.startswith(person):
        return str(int(item_id.replace(person, "")[1:]))
    return item_id


def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"lfw cannot write {format_name!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    labels = Labels(dataset)
    for subset, items in group_by_subset(frame_items(dataset)).items():
        counts = {lb.name: 0 for lb in labels.ordered}
        positive, negative, neutral, landmarks, included = [], [], [], [], []
        for item in items:
            _data, ext = dataset.image(item.frame) if save_images else (b"", "")
            if not item.tags:
                if save_images:
                    write_image(dataset, item.frame, out / subset / IMAGES_DIR
                                / f"{item.id}{item.ext(ext or '.jpg')}")
                continue
            tag = item.tags[0]
            person = labels.name(tag["label_id"])
            counts[person] += 1
            if save_images:
                write_image(dataset, item.frame, out / subset / IMAGES_DIR / person
                            / f"{item.id}{item.ext(ext or '.jpg')}")
            num1 = _number(person, item.id)
            current = f"{person}/{num1}"
            attrs = {a["spec_id"]: a["value"] for a in tag.get("attributes", [])}
            pairs = {spec.name: attrs.get(spec.id, spec.default_value)
                     for spec in labels.by_id[tag["label_id"]].attributes
                     if spec.name in ("positive_pairs", "negative_pairs")}
            for kind, value in pairs.items():
                for other in [p for p in str(value).split(",") if p.strip()]:
                    other = other.strip()
                    if current not in included:
                        included.append(current)
                    found = _PATTERN.search(other)
                    if kind == "positive_pairs":
                        num2 = str(int(found.groups()[1])) if found else other
                        positive.append(f"{person}\t{num1}\t{num2}")
                    else:
                        person2, num2 = (found.groups()[0], str(int(found.groups()[1]))) \
                            if found else ("-", other)
                        negative.append(f"{person}\t{num1}\t{person2}\t{num2}")
            if not pairs and current not in included:
                neutral.append(f"{person}/{item.id}")
                included.append(current)
            for shape in item.shapes:
                if shape["type"] == "points":
                    coords = "\t".join(str(float(p)) for p in shape["points"])
                    landmarks.append(f"{labels.name(shape['label_id'])}/{item.id}.jpg\t{coords}")
        folder = out / subset / ANNOTATION_DIR
        folder.mkdir(parents=True, exist_ok=True)
        (folder / PAIRS).write_text("".join(f"{line}\n" for line in positive + negative + neutral),
                                    encoding="utf-8")
        if landmarks:
            (folder / LANDMARKS).write_text("".join(f"{line}\n" for line in landmarks),
                                            encoding="utf-8")
        if counts:
            (folder / PEOPLE).write_text("".join(f"{n}\t{c}\n" for n, c in counts.items()),
                                         encoding="utf-8")


def _image_name(person: str, number: str) -> str:
    """``LfwExtractor.get_image_name``: the item id of "person n"."""
    try:
        return f"{person}_{int(number):04d}"
    except ValueError:
        return number


def image_layout(parts: tuple[str, ...]) -> tuple[str, str] | None:
    """Where a project import finds the images: ``<subset>/images/<person>/<item id><ext>``, or
    ``<subset>/images/<item id><ext>`` for an untagged frame."""
    if len(parts) >= 3 and parts[1] == IMAGES_DIR:
        return parts[0], "/".join(parts[3:] if len(parts) >= 4 else parts[2:])
    return None


def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict[str, Any]:
    if format_name not in IMPORTS:
        raise ImportFailed(f"lfw cannot read {format_name!r}")
    source = Path(source)
    files = sorted(source.rglob(f"{ANNOTATION_DIR}/{PAIRS}")) if source.is_dir() else []
    if not files:
        raise ImportFailed(
            "Check [format docs](https://docs.cvat.ai/docs/manual/advanced/formats/format-lfw). "
            "Dataset must contain a file: annotations/pairs.txt")
    importer = Importer(dataset)
    tagged: dict[str, str | None] = {}  # item id -> its person, in order of appearance
    points: list[tuple[str, str, list[float]]] = []
    for path in files:
        for line in read_text(path).splitlines():
            fields = line.strip().split("\t")
            if len(fields) == 1 and fields[0]:
                parts = fields[0].split("/")
                person = parts[0] if len(parts) > 1 else None
                item_id = fields[0][len(person) + 1:] if person else fields[0]
                tagged.setdefault(item_id, person)
            elif len(fields) == 3:
                tagged.setdefault(_image_name(fields[0], fields[1]), fields[0])
                tagged.setdefault(_image_name(fields[0], fields[2]), fields[0])
            elif len(fields) == 4:
                tagged.setdefault(_image_name(fields[0], fields[1]), fields[0])
                if fields[2] == "-":
                    tagged.setdefault(fields[3], None)
                else:
                    tagged.setdefault(_image_name(fields[2], fields[3]), fields[2])
        marks = path.parent / LANDMARKS
        if marks.is_file():
            for number, line in enumerate(read_text(marks).splitlines(), 1):
                fields = line.rstrip("\n").split("\t")
                item_id = os.path.splitext(fields[0])[0]
                parts = item_id.split("/")
                person = parts[0] if len(parts) > 1 else ""
                if person:
                    item_id = item_id[len(person) + 1:]
                try:
                    coords = [float(p) for p in fields[1:]]
                except ValueError:
                    raise ImportFailed(f"{LANDMARKS}:{number}: can't parse the points") from None
                points.append((item_id, person, coords))
    ids = list(tagged) + [p[0] for p in points]
    hint = importer.root_hint(ids)
    counters: dict[str, int] = {}
    for item_id, person in tagged.items():
        frame = importer.match(item_id, hint)
        if person:
            counters[item_id] = 1
            with importer.annotation(item_id, 0, "label"):
                importer.add_tag(label=importer.label(person), frame=frame, raw={})
    for item_id, person, coords in points:
        frame = importer.match(item_id, hint)
        index = counters.get(item_id, 0)
        counters[item_id] = index + 1
        with importer.annotation(item_id, index, "points"):
            if not person:
                raise ValueError("annotation has no label")
            importer.add_annotation(label=importer.label(person), kind="points", frame=frame,
                                    group=0, points=coords, raw={})
    return importer.result()
