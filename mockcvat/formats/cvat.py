"""CVAT XML 1.1: exporters "CVAT for images 1.1" / "CVAT for video 1.1", importer "CVAT 1.1".

Written from what CVAT 2.26 does (``cvat/apps/dataset_manager/formats/cvat.py``,
``bindings.py`` and ``annotation.py``; see docs/research/cvat-annotations-facts.md §5):

* ``annotations.xml`` is produced with ``xml.sax.saxutils.XMLGenerator`` exactly as CVAT's
  ``XmlAnnotationWriter`` drives it: two-space indentation, every element opened and closed on
  its own line (never self-closing), attributes in CVAT's order, floats as ``{:.2f}``, a
  trailing newline after ``</annotations>``. ``save_images`` adds ``images/<frame path>``
  (video frames: ``images/frame_000000.PNG``; projects: ``images/<subset>/…``).
* "CVAT for images": one ``<image>`` per included frame; tracks are interpolated over the
  frames (CVAT's ``TrackManager.get_interpolated_shapes``) and written as plain shapes — no
  ``track_id``/``keyframe`` marks, outside frames skipped. Shapes of a frame are ordered by
  ``z_order`` (stable: standalone shapes first, then track shapes), then the frame's tags.
* "CVAT for video": ``<track>`` per track with every interpolated frame (``keyframe="0"`` for
  the interpolated ones), then every standalone shape as a one-keyframe track closed by an
  ``outside`` copy one frame later (only when that frame is before the last frame). Tags are
  not written at all, as in CVAT.
* Import ("CVAT 1.1"): ``<image>`` shapes/tags and ``<track>`` keyframes (non-keyframes are
  dropped), labels and attributes by name; everything imported gets ``source: "file"``; groups
  come back as ``0``; track attributes = the immutable ones of the *last* keyframe, tracked-shape
  attributes = the mutable ones; unknown attribute names are dropped silently; an unknown label
  fails with CVAT's ``Label 'x' is not registered for this task``. DOCTYPE/ENTITY declarations
  are refused before parsing (CVAT uses defusedxml).

``dataset.meta`` keys read (all optional, strings or numbers): ``created``, ``updated``,
``dumped``, ``bugtracker``, ``overlap``, ``subset``, ``start_frame``, ``stop_frame``,
``frame_step``, ``frame_filter``, ``size``, ``host``, ``segments`` (list of ``{id, start, stop,
job_id}``), ``owner``/``assignee`` (``{username, email}`` or None), ``source`` (video file name),
``original_size`` (``{width, height}``); for projects ``tasks``: list of per-task meta dicts
(same keys plus ``id``, ``name``, ``mode``) and annotation objects carrying ``task_id``.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import XMLGenerator

from mockcvat.formats.base import Dataset, Frame, ImportFailed, LabelSpec
from mockcvat.formats.common import VIDEO_FRAME_EXT, parse_xml
from mockcvat.formats.tracks import interpolated_shapes, tracks_to_shapes

EXPORTS = ("CVAT for video 1.1", "CVAT for images 1.1")
IMPORTS = ("CVAT 1.1",)

SUPPORTED_SHAPES = ("box", "ellipse", "polygon", "polyline", "points", "cuboid", "skeleton",
                    "mask")
_CUBOID_KEYS = ("xtl1", "ytl1", "xbl1", "ybl1", "xtr1", "ytr1", "xbr1", "ybr1",
                "xtl2", "ytl2", "xbl2", "ybl2", "xtr2", "ytr2", "xbr2", "ybr2")

Obj = dict[str, Any]


def _f(value: float) -> str:
    return f"{value:.2f}"


# =========================================================================================
# Export
# =========================================================================================

class _Context:
    """What the writers need to know about the dataset: frame numbering, names, labels."""

    def __init__(self, dataset: Dataset):
        self.ds = dataset
        self.meta = dataset.meta
        self.project = dataset.kind == "project"
        self.video = dataset.mode == "interpolation"
        self.labels = {label.id: label for label in dataset.labels}
        self.attr_names: dict[int, str] = {}
        for label in sorted(dataset.labels, key=lambda x: x.id):
            for attr in label.attributes:
                self.attr_names.setdefault(attr.id, attr.name)
        self.task_meta: dict[int, dict[str, Any]] = {
            int(t["id"]): t for t in self.meta.get("tasks", []) if "id" in t}
        self.frames: dict[tuple[int, int], Frame] = {
            (self.task_of(f), f.frame): f for f in dataset.frames}
        self._rels: dict[int, set[int]] = {}
        self._included: dict[int, set[int]] = {}
        self._subsets: dict[int, str] = {}
        for (tid, rel), frame in sorted(self.frames.items()):
            self._rels.setdefault(tid, set()).add(rel)
            included = self._included.setdefault(tid, set())
            if not frame.deleted:
                included.add(rel)
            self._subsets.setdefault(tid, frame.subset or "default")
        # CVAT's ProjectData offsets: tasks ordered by (subset, id), restarting per subset
        self.offsets: dict[int, int] = {}
        if self.project:
            running, subset = 0, None
            for tid in sorted(self.task_ids(), key=lambda t: (self.subset_of(t), t)):
                if self.subset_of(tid) != subset:
                    running, subset = 0, self.subset_of(tid)
                self.offsets[tid] = running
                running += self.start(tid) + self.step(tid) * self.size(tid)

    # -- numbering ----------------------------------------------------------------------
    def task_of(self, frame: Frame) -> int:
        return frame.task_id if self.project else 0

    def task_ids(self) -> list[int]:
        return sorted(self._rels)

    def has_frame(self, tid: int, rel: int) -> bool:
        return rel in self._rels.get(tid, ())

    def _tmeta(self, tid: int) -> dict[str, Any]:
        return self.task_meta.get(tid, {}) if self.project else self.meta

    def subset_of(self, tid: int) -> str:
        return self._subsets.get(tid, "default")

    def start(self, tid: int = 0) -> int:
        return int(self._tmeta(tid).get("start_frame", 0))

    def step(self, tid: int = 0) -> int:
        return int(self._tmeta(tid).get("frame_step", 1)) or 1

    def size(self, tid: int = 0) -> int:
        if "size" in self._tmeta(tid):
            return int(self._tmeta(tid)["size"])
        return self.end(tid)

    def end(self, tid: int = 0) -> int:
        """One past the last frame of the instance (CVAT's ``stop``)."""
        return max(self._rels.get(tid, ()), default=-1) + 1

    def abs(self, tid: int, rel: int) -> int:
        return rel * self.step(tid) + self.start(tid) + self.offsets.get(tid, 0)

    def stop_frame(self, tid: int = 0) -> int:
        """The ``stop_frame`` CVAT writes in the meta (the task's own numbering)."""
        meta = self._tmeta(tid)
        if "stop_frame" in meta and self.ds.kind != "job":
            return int(meta["stop_frame"])
        return self.abs(tid, self.end(tid) - 1) - self.offsets.get(tid, 0)

    def is_video(self, tid: int = 0) -> bool:
        return (self._tmeta(tid).get("mode") or self.ds.mode) == "interpolation"

    def included(self, tid: int = 0) -> set[int]:
        return self._included.get(tid, set())

    def path(self, tid: int, rel: int) -> str:
        if self.is_video(tid):
            return f"frame_{self.abs(tid, rel):06d}"
        return self.frames[(tid, rel)].name

    # -- annotations --------------------------------------------------------------------
    def objects(self, kind: str, tid: int) -> list[Obj]:
        items = self.ds.annotations.get(kind, [])
        if not self.project:
            return list(items)
        single = len(self.task_ids()) == 1
        return [o for o in items if o.get("task_id", tid if single else None) == tid]

    def label_name(self, label_id: int) -> str:
        return self.labels[label_id].name

    def attributes(self, attrs: Iterable[Obj]) -> list[tuple[str, str]]:
        return [(self.attr_names.get(a["spec_id"], ""), str(a["value"])) for a in attrs]


class _Writer:
    """CVAT's XmlAnnotationWriter: XMLGenerator with manual two-space indentation."""

    def __init__(self, stream: Any):
        self.gen = XMLGenerator(stream, "utf-8")
        self.level = 0

    def indent(self) -> None:
        self.gen.ignorableWhitespace("\n" + "  " * self.level)

    def open(self, tag: str, attrs: dict[str, str] | None = None) -> None:
        self.indent()
        self.gen.startElement(tag, attrs or {})
        self.level += 1

    def close(self, tag: str) -> None:
        self.level -= 1
        self.indent()
        self.gen.endElement(tag)

    def leaf(self, tag: str, text: str, attrs: dict[str, str] | None = None) -> None:
        self.indent()
        self.gen.startElement(tag, attrs or {})
        self.gen.characters(text)
        self.gen.endElement(tag)

    def meta(self, items: list[tuple[str, Any]]) -> None:
        self.level += 1
        for key, value in items:
            if isinstance(value, list):
                self.indent()
                self.gen.startElement(key, {})
                for item in value:
                    self.meta([item])
                self.indent()
                self.gen.endElement(key)
            elif isinstance(value, dict):  # an ordered mapping: nested element
                self.indent()
                self.gen.startElement(key, {})
                self.meta(list(value.items()))
                self.indent()
                self.gen.endElement(key)
            else:
                self.leaf(key, "" if value is None else str(value))
        self.level -= 1

    def add_meta(self, items: list[tuple[str, Any]]) -> None:
        self.indent()
        self.gen.startElement("meta", {})
        self.meta(items)
        self.indent()
        self.gen.endElement("meta")

    def attribute(self, name: str, value: str) -> None:
        self.leaf("attribute", value, {"name": name})

    def begin(self) -> None:
        self.gen.startDocument()
        self.gen.startElement("annotations", {})
        self.level = 1
        self.leaf("version", "1.1")

    def finish(self) -> None:
        self.level = 0
        self.indent()
        self.gen.endElement("annotations")
        self.indent()
        self.gen.endDocument()


# --- <meta> -------------------------------------------------------------------------------

def _user(value: Any) -> Any:
    if not value:
        return ""
    return {"username": value.get("username", ""), "email": value.get("email", "")}


def _labels_meta(ctx: _Context) -> list[tuple[str, Any]]:
    out = []
    for label in sorted(ctx.ds.labels, key=lambda x: x.id):
        item: dict[str, Any] = {
            "name": label.name, "color": label.color, "type": label.type,
            "attributes": [("attribute", {
                "name": a.name, "mutable": str(a.mutable), "input_type": a.input_type,
                "default_value": a.default_value, "values": "\n".join(a.values)})
                for a in label.attributes],
        }
        if label.parent_id is not None and label.parent_id in ctx.labels:
            item["parent"] = ctx.labels[label.parent_id].name
        if label.type == "skeleton":
            svg = label.svg
            for sub in ctx.ds.labels:
                if sub.parent_id == label.id:
                    svg = svg.replace(f'data-label-id="{sub.id}"', f'data-label-name="{sub.name}"')
            item["svg"] = svg
        out.append(("label", item))
    return out


def _now() -> str:
    return str(datetime.now(UTC))


def _task_meta(ctx: _Context, meta: dict[str, Any], tid: int, *, name: str, task_id: Any,
               with_labels: bool) -> dict[str, Any]:
    host = ctx.meta.get("host", "")
    segments = meta.get("segments")
    if segments is None:
        segments = [{"id": task_id, "start": 0, "stop": max(ctx.end(tid) - 1, 0),
                     "job_id": task_id}]
    out: dict[str, Any] = {
        "id": str(task_id),
        "name": name,
        "size": str(ctx.size(tid)),
        "mode": meta.get("mode") or ctx.ds.mode,
        "overlap": str(meta.get("overlap", 0)),
        "bugtracker": meta.get("bugtracker", ""),
        "created": str(meta.get("created", "")),
        "updated": str(meta.get("updated", "")),
        "subset": meta.get("subset") or "default",
        "start_frame": str(ctx.start(tid)),
        "stop_frame": str(ctx.stop_frame(tid)),
        "frame_filter": meta.get("frame_filter", ""),
        "segments": [("segment", {
            "id": str(s.get("id", "")), "start": str(s.get("start", 0)),
            "stop": str(s.get("stop", 0)),
            "url": f"{host}/api/jobs/{s.get('job_id', s.get('id', ''))}"}) for s in segments],
        "owner": _user(meta.get("owner")),
        "assignee": _user(meta.get("assignee")),
    }
    if with_labels:
        out["labels"] = _labels_meta(ctx)
    if ctx.is_video(tid):
        out["original_size"] = _original_size(ctx, meta, tid)
        out["source"] = meta.get("source", "")
    return out


def _original_size(ctx: _Context, meta: dict[str, Any], tid: int) -> dict[str, str]:
    size = meta.get("original_size")
    if not size:
        frame = next((f for (t, _), f in sorted(ctx.frames.items()) if t == tid), None)
        size = {"width": frame.width if frame else 0, "height": frame.height if frame else 0}
    return {"width": str(size["width"]), "height": str(size["height"])}


def _meta(ctx: _Context) -> list[tuple[str, Any]]:
    ds, meta = ctx.ds, ctx.meta
    dumped = meta.get("dumped") or _now()
    if ctx.project:
        tasks = []
        for tid in ctx.task_ids():
            tmeta = ctx.task_meta.get(tid, {})
            tasks.append(("task", _task_meta(ctx, tmeta, tid, name=tmeta.get("name", ""),
                                             task_id=tid, with_labels=False)))
        project = {
            "id": str(ds.id), "name": ds.name, "bugtracker": meta.get("bugtracker", ""),
            "created": str(meta.get("created", "")), "updated": str(meta.get("updated", "")),
            "tasks": tasks,
            "subsets": "\n".join(sorted({ctx.subset_of(t) for t in ctx.task_ids()})),
            "owner": _user(meta.get("owner")), "assignee": _user(meta.get("assignee")),
            "labels": _labels_meta(ctx),
        }
        return [("project", project), ("dumped", dumped)]
    if ds.kind == "job":
        segments = meta.get("segments") or [{
            "id": ds.id, "start": min((f.frame for f in ds.frames), default=0),
            "stop": max((f.frame for f in ds.frames), default=0), "job_id": ds.id}]
        job = _task_meta(ctx, {**meta, "segments": segments[:1]}, 0, name="", task_id=ds.id,
                         with_labels=False)
        job.pop("name")
        job.pop("original_size", None)
        job.pop("source", None)
        job["size"] = str(len(ds.frames))
        job["start_frame"] = str(ctx.abs(0, min((f.frame for f in ds.frames), default=0)))
        job["stop_frame"] = str(ctx.abs(0, max((f.frame for f in ds.frames), default=0)))
        job["labels"] = _labels_meta(ctx)
        items: list[tuple[str, Any]] = [("job", job), ("dumped", dumped)]
        if ctx.is_video():
            items.append(("original_size", _original_size(ctx, meta, 0)))
        return items
    task = _task_meta(ctx, meta, 0, name=ds.name, task_id=ds.id, with_labels=True)
    return [("task", task), ("dumped", dumped)]


# --- shapes ---------------------------------------------------------------------------------

def _geometry(shape: Obj) -> dict[str, str]:
    kind, p = shape["type"], shape["points"]
    rotation = {"rotation": _f(shape["rotation"])} if shape.get("rotation") else {}
    if kind == "rectangle":
        return {"xtl": _f(p[0]), "ytl": _f(p[1]), "xbr": _f(p[2]), "ybr": _f(p[3]), **rotation}
    if kind == "ellipse":
        return {"cx": _f(p[0]), "cy": _f(p[1]), "rx": _f(p[2] - p[0]), "ry": _f(p[1] - p[3]),
                **rotation}
    if kind == "cuboid":
        return {key: _f(p[i]) for i, key in enumerate(_CUBOID_KEYS)}
    if kind == "mask":
        return {"rle": ", ".join(str(int(v)) for v in p[:-4]), "left": str(int(p[-4])),
                "top": str(int(p[-3])), "width": str(int(p[-2] - p[-4]) + 1),
                "height": str(int(p[-1] - p[-3]) + 1)}
    if kind == "skeleton":
        return {}
    return {"points": ";".join(f"{_f(x)},{_f(y)}" for x, y in zip(p[0::2], p[1::2],
                                                                  strict=False))}


_TAGS = {"rectangle": "box"}


def _xml_tag(shape: Obj) -> str:
    return _TAGS.get(shape["type"], shape["type"])


def _write_image_shapes(w: _Writer, ctx: _Context, shapes: list[Obj], element: bool = False):
    for shape in shapes:
        data = {"label": ctx.label_name(shape["label_id"]), "source": shape.get("source",
                                                                                "manual")}
        if element:
            data["outside"] = str(int(bool(shape.get("outside"))))
        if shape["type"] != "skeleton":
            data["occluded"] = str(int(bool(shape.get("occluded"))))
        data.update(_geometry(shape))
        if not element:
            data["z_order"] = str(shape.get("z_order", 0))
        if shape.get("group"):
            data["group_id"] = str(shape["group"])
        tag = _xml_tag(shape)
        w.open(tag, data)
        if shape["type"] == "skeleton":
            _write_image_shapes(w, ctx, shape.get("elements", []), element=True)
        for name, value in ctx.attributes(shape.get("attributes", [])):
            w.attribute(name, value)
        w.close(tag)


def _dump_images(w: _Writer, ctx: _Context) -> None:
    for tid in ctx.task_ids():
        included = ctx.included(tid)
        end = ctx.end(tid)
        shapes = [s for s in ctx.objects("shapes", tid) if s["frame"] in included]
        shapes += [s for s in tracks_to_shapes(ctx.objects("tracks", tid), end, included=included)
                   if not s["outside"]]
        shapes.sort(key=lambda s: s.get("z_order", 0))
        by_frame: dict[int, list[Obj]] = {}
        for shape in shapes:
            by_frame.setdefault(shape["frame"], []).append(shape)
        tags: dict[int, list[Obj]] = {}
        for tag in ctx.objects("tags", tid):
            if tag["frame"] in included:
                tags.setdefault(tag["frame"], []).append(tag)

        for rel in sorted(included):
            frame = ctx.frames[(tid, rel)]
            attrs = {"id": str(ctx.abs(tid, rel)), "name": ctx.path(tid, rel)}
            if ctx.project:
                attrs.update(subset=ctx.subset_of(tid), task_id=str(tid))
            attrs.update(width=str(frame.width), height=str(frame.height))
            w.open("image", attrs)
            _write_image_shapes(w, ctx, by_frame.get(rel, []))
            for tag in tags.get(rel, []):
                data = {"label": ctx.label_name(tag["label_id"]),
                        "source": tag.get("source", "manual")}
                if tag.get("group"):
                    data["group_id"] = str(tag["group"])
                w.open("tag", data)
                for name, value in ctx.attributes(tag.get("attributes", [])):
                    w.attribute(name, value)
                w.close("tag")
            w.close("image")


def _write_track_shape(w: _Writer, ctx: _Context, tid: int, shape: Obj,
                       elements: dict[int, list[tuple[Obj, str]]] | None = None,
                       label: str | None = None) -> None:
    data = {"label": label} if label is not None else {"frame": str(ctx.abs(tid,
                                                                            shape["frame"]))}
    data["keyframe"] = str(int(bool(shape.get("keyframe"))))
    if shape["type"] != "skeleton":
        data["outside"] = str(int(bool(shape.get("outside"))))
        data["occluded"] = str(int(bool(shape.get("occluded"))))
    data.update(_geometry(shape))
    if label is None:
        data["z_order"] = str(shape.get("z_order", 0))
    tag = _xml_tag(shape)
    if shape["type"] == "skeleton":
        frame_elements = (elements or {}).get(shape["frame"])
        if not frame_elements:
            return  # CVAT writes nothing for a skeleton frame without element shapes
        w.open(tag, data)
        for element, element_label in frame_elements:
            _write_track_shape(w, ctx, tid, element, label=element_label)
    else:
        w.open(tag, data)
    for name, value in ctx.attributes(shape.get("attributes", [])):
        w.attribute(name, value)
    w.close(tag)


def _exported_track(ctx: _Context, track: Obj, tid: int) -> Obj:
    """CVAT's ``_export_track``: interpolated shapes (+ track attributes), deleted frames out."""
    included = ctx.included(tid)
    shapes = []
    for shape in interpolated_shapes(track, ctx.end(tid)):
        if shape["frame"] in included:
            shape["attributes"] = shape["attributes"] + [dict(a) for a in
                                                         track.get("attributes", [])]
            shapes.append(shape)
    return {"label_id": track["label_id"], "group": track.get("group"),
            "source": track.get("source", "manual"), "shapes": shapes,
            "elements": [_exported_track(ctx, e, tid) for e in track.get("elements", [])]}


def _shape_track(ctx: _Context, shape: Obj, tid: int) -> Obj:
    """A standalone shape as CVAT's video dump sees it: a keyframe, closed one step later."""
    # CVAT compares the exported frame with the meta's stop_frame (a shape on the last but one
    # frame gets no closing shape; in projects the frame also carries the task's offset)
    closes = ctx.abs(tid, shape["frame"]) + ctx.step(tid) < ctx.stop_frame(tid)

    def pair(s: Obj, outside: bool) -> list[Obj]:
        first = {**s, "outside": outside, "keyframe": True}
        last = {**s, "outside": True, "keyframe": True, "frame": s["frame"] + 1}
        return [first, last] if closes else [first]

    return {"label_id": shape["label_id"], "group": shape.get("group"),
            "source": shape.get("source", "manual"),
            "shapes": pair(shape, False),
            "elements": [{"label_id": e["label_id"], "group": e.get("group"),
                          "source": e.get("source", "manual"),
                          "shapes": pair(e, bool(e.get("outside"))), "elements": []}
                         for e in shape.get("elements", [])]}


def _dump_video(w: _Writer, ctx: _Context) -> None:
    tracks: list[tuple[int, Obj]] = []
    for tid in ctx.task_ids():
        tracks += [(tid, _exported_track(ctx, t, tid)) for t in ctx.objects("tracks", tid)]
    for tid in ctx.task_ids():
        included = ctx.included(tid)
        tracks += [(tid, _shape_track(ctx, s, tid)) for s in ctx.objects("shapes", tid)
                   if s["frame"] in included]
    for counter, (tid, track) in enumerate(tracks):
        data = {"id": str(counter), "label": ctx.label_name(track["label_id"]),
                "source": track["source"]}
        if ctx.project:
            data.update(task_id=str(tid), subset=ctx.subset_of(tid))
        if track.get("group"):
            data["group_id"] = str(track["group"])
        w.open("track", data)
        elements: dict[int, list[tuple[Obj, str]]] = {}
        for element in track["elements"]:
            for shape in element["shapes"]:
                elements.setdefault(shape["frame"], []).append(
                    (shape, ctx.label_name(element["label_id"])))
        for shape in track["shapes"]:
            _write_track_shape(w, ctx, tid, shape, elements)
        w.close("track")


def export(dataset: Dataset, out: Path, *, save_images: bool, format_name: str) -> None:
    if format_name not in EXPORTS:
        raise ValueError(f"unknown export format {format_name!r}")
    ctx = _Context(dataset)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "annotations.xml", "wb") as stream:
        w = _Writer(stream)
        w.begin()
        w.add_meta(_meta(ctx))
        if format_name == "CVAT for images 1.1":
            _dump_images(w, ctx)
        else:
            _dump_video(w, ctx)
        w.finish()
    if save_images:
        _save_images(ctx, out / "images")


def _save_images(ctx: _Context, root: Path) -> None:
    for tid in ctx.task_ids():
        base = root / ctx.subset_of(tid) if ctx.project else root
        for rel in sorted(ctx.included(tid)):
            frame = ctx.frames[(tid, rel)]
            data, _ext = ctx.ds.image(frame)
            name = ctx.path(tid, rel) + (VIDEO_FRAME_EXT if ctx.is_video(tid) else "")
            target = (base / name).resolve()
            if not target.is_relative_to(base.resolve()):
                continue  # a frame path escaping the archive root is never written
            os.makedirs(target.parent, exist_ok=True)
            target.write_bytes(data)


# =========================================================================================
# Import
# =========================================================================================

def _need(el: ET.Element, key: str) -> str:
    try:
        return el.attrib[key]
    except KeyError:
        raise ImportFailed(f"<{el.tag}> has no '{key}' attribute") from None


def _number(text: str, key: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ImportFailed(f"could not convert string to float: {text!r} ({key})") from None


def _points(el: ET.Element) -> list[float]:
    tag = el.tag
    if tag == "box":
        return [_number(_need(el, k), k) for k in ("xtl", "ytl", "xbr", "ybr")]
    if tag == "ellipse":
        cx, cy = _number(_need(el, "cx"), "cx"), _number(_need(el, "cy"), "cy")
        rx, ry = _number(_need(el, "rx"), "rx"), _number(_need(el, "ry"), "ry")
        return [cx, cy, float(f"{cx + rx:.2f}"), float(f"{cy - ry:.2f}")]
    if tag == "cuboid":
        return [_number(_need(el, k), k) for k in _CUBOID_KEYS]
    if tag == "mask":
        try:
            rle = [int(v) for v in _need(el, "rle").split(",")]
            left, top = int(_need(el, "left")), int(_need(el, "top"))
            width, height = int(_need(el, "width")), int(_need(el, "height"))
        except ValueError as exc:
            raise ImportFailed(f"<mask>: {exc}") from None
        return [float(v) for v in rle + [left, top, left + width - 1, top + height - 1]]
    if tag == "skeleton":
        return []
    out: list[float] = []
    for pair in _need(el, "points").split(";"):
        out.extend(_number(v, "points") for v in pair.split(","))
    return out


class _Importer:
    def __init__(self, dataset: Dataset):
        self.ds = dataset
        self.ctx = _Context(dataset)
        self.result: dict[str, list[Obj]] = {"tags": [], "shapes": [], "tracks": []}
        # frame lookup by path without extension, as CVAT's match_frame
        self.by_path: dict[tuple[int | None, str], tuple[int, int]] = {}
        for tid, rel in sorted(self.ctx.frames):
            path = os.path.splitext(self.ctx.path(tid, rel))[0]
            self.by_path.setdefault((None, path), (tid, rel))
            if self.ctx.project:
                self.by_path.setdefault((tid, path), (tid, rel))

    # -- names ------------------------------------------------------------------------
    def label(self, name: str, parent: LabelSpec | None = None) -> LabelSpec:
        found = self.ds.label_named(name, parent.id if parent else None)
        if found is None:
            raise ImportFailed(f"Label {name!r} is not registered for this task")
        return found

    def attrs(self, label: LabelSpec, attrs: list[tuple[str, str]],
              mutable: bool | None = None) -> list[Obj]:
        out = []
        for name, value in attrs:
            spec = next((a for a in sorted(label.attributes, key=lambda a: not a.mutable)
                         if a.name == name), None)
            if spec is None or (mutable is not None and spec.mutable != mutable):
                continue
            if spec.input_type == "checkbox" and value != spec.default_value:
                value = value.lower()
                if value not in ("true", "false"):
                    raise ImportFailed(
                        f"Failed to convert attribute '{label.name}'='{value}': ")
            out.append({"spec_id": spec.id, "value": value})
        return out

    # -- frames -----------------------------------------------------------------------
    def image_frame(self, el: ET.Element) -> tuple[int, int]:
        name = _need(el, "name")
        stem = os.path.splitext(name)[0]
        tid_hint = None
        if self.ctx.project and el.attrib.get("task_id", "").isdigit():
            tid_hint = int(el.attrib["task_id"])
        found = self.by_path.get((tid_hint, stem)) or self.by_path.get((None, stem))
        if found is None:
            try:
                rel = int(el.attrib.get("id", stem))
            except ValueError:
                rel = None
            tid = tid_hint if tid_hint is not None else (self.ctx.task_ids() or [0])[0]
            if rel is None or not self.ctx.has_frame(tid, rel):
                raise ImportFailed(f"Could not match item id: '{stem}' with any task frame")
            found = (tid, rel)
        return found

    def rel_frame(self, tid: int, absolute: str) -> int:
        try:
            value = int(absolute)
        except ValueError:
            raise ImportFailed(f"invalid literal for int() with base 10: {absolute!r}") from None
        d, m = divmod(value - self.ctx.start(tid) - self.ctx.offsets.get(tid, 0),
                      self.ctx.step(tid))
        if m or not self.ctx.has_frame(tid, d):
            raise ImportFailed(f"Unknown frame {value}")
        return d

    def _task(self, obj: Obj, tid: int) -> Obj:
        if self.ctx.project:
            obj["task_id"] = tid
        return obj

    # -- elements -----------------------------------------------------------------------
    @staticmethod
    def _attr_children(el: ET.Element) -> list[tuple[str, str]]:
        return [(a.attrib.get("name", ""), a.text or "") for a in el if a.tag == "attribute"]

    def image_shape(self, el: ET.Element, tid: int, rel: int) -> Obj:
        label = self.label(_need(el, "label"))
        shape = {
            "type": "rectangle" if el.tag == "box" else el.tag, "frame": rel,
            "label_id": label.id, "group": int(el.attrib.get("group_id", 0)), "source": "file",
            "occluded": el.attrib.get("occluded", "0") == "1", "outside": False,
            "z_order": int(el.attrib.get("z_order", 0)),
            "rotation": float(el.attrib.get("rotation", 0)), "points": _points(el),
            "attributes": self.attrs(label, self._attr_children(el)), "elements": [],
        }
        if el.tag == "skeleton":
            for child in el:
                if child.tag not in SUPPORTED_SHAPES or child.tag == "skeleton":
                    continue
                sub = self.label(_need(child, "label"), label)
                shape["elements"].append({
                    "type": "rectangle" if child.tag == "box" else child.tag, "frame": rel,
                    "label_id": sub.id, "group": 0, "source": "file",
                    "occluded": _need(child, "occluded") == "1",
                    "outside": _need(child, "outside") == "1", "z_order": 0, "rotation": 0.0,
                    "points": _points(child),
                    "attributes": self.attrs(sub, self._attr_children(child))})
        return self._task(shape, tid)

    def tag(self, el: ET.Element, tid: int, rel: int) -> Obj:
        label = self.label(_need(el, "label"))
        return self._task({"frame": rel, "label_id": label.id,
                           "group": int(el.attrib.get("group_id", 0)), "source": "file",
                           "attributes": self.attrs(label, self._attr_children(el))}, tid)

    def track(self, el: ET.Element) -> None:
        label = self.label(_need(el, "label"))
        tid = (self.ctx.task_ids() or [0])[0]
        if self.ctx.project and el.attrib.get("task_id", "").isdigit():
            tid = int(el.attrib["task_id"])
        group = int(el.attrib.get("group_id", 0))
        keyframes: list[tuple[ET.Element, int]] = []
        element_shapes: dict[str, list[Obj]] = {}
        for child in el:
            if child.tag not in SUPPORTED_SHAPES:
                continue
            frame = self.rel_frame(tid, _need(child, "frame"))
            if child.tag == "skeleton":
                for sub_el in child:
                    if sub_el.tag not in SUPPORTED_SHAPES or sub_el.tag == "skeleton":
                        continue
                    shapes = element_shapes.setdefault(_need(sub_el, "label"), [])
                    if _need(sub_el, "keyframe") == "1":
                        shapes.append({"el": sub_el, "frame": frame})
            if _need(child, "keyframe") == "1":
                keyframes.append((child, frame))
        if not keyframes:
            raise ImportFailed(f"Track of label '{label.name}' has no keyframes")

        def tracked(child: ET.Element, frame: int, spec: LabelSpec) -> Obj:
            return {"type": "rectangle" if child.tag == "box" else child.tag, "frame": frame,
                    "occluded": child.attrib.get("occluded", "0") == "1",
                    "outside": child.attrib.get("outside", "0") == "1",
                    "z_order": int(child.attrib.get("z_order", 0)),
                    "rotation": float(child.attrib.get("rotation", 0)),
                    "points": _points(child),
                    "attributes": self.attrs(spec, self._attr_children(child), mutable=True)}

        first, first_frame = keyframes[0]
        if first.tag == "mask":  # CVAT turns mask tracks into one shape (the first keyframe)
            shape = tracked(first, first_frame, label)
            shape.update(label_id=label.id, group=0, source="manual", outside=False,
                         elements=[],
                         attributes=self.attrs(label, self._attr_children(first)))
            self.result["shapes"].append(self._task(
                {k: shape[k] for k in ("type", "frame", "label_id", "group", "source",
                                       "occluded", "outside", "z_order", "rotation", "points",
                                       "attributes", "elements")}, tid))
            return

        elements = []
        for name, shapes in element_shapes.items():
            sub = self.label(name, label)
            if not shapes:
                raise ImportFailed(f"Skeleton element '{name}' has no keyframes in a track")
            element_track = {"frame": min(s["frame"] for s in shapes), "label_id": sub.id,
                             "group": 0, "source": "file", "shapes": [], "attributes": []}
            for s in shapes:
                shape = tracked(s["el"], s["frame"], sub)
                shape["z_order"], shape["rotation"] = 0, 0.0
                element_track["shapes"].append(shape)
                element_track["attributes"] = self.attrs(sub, self._attr_children(s["el"]),
                                                         mutable=False)
            elements.append(element_track)

        out = {"frame": min(f for _, f in keyframes), "label_id": label.id, "group": group,
               "source": "file", "shapes": [], "attributes": [], "elements": elements}
        for child, frame in keyframes:
            out["shapes"].append(tracked(child, frame, label))
            out["attributes"] = self.attrs(label, self._attr_children(child), mutable=False)
        self.result["tracks"].append(self._task(out, tid))

    def load(self, root: ET.Element) -> None:
        for el in root.iter():
            if el.tag == "image":
                tid, rel = self.image_frame(el)
                for child in el:
                    if child.tag in SUPPORTED_SHAPES:
                        self.result["shapes"].append(self.image_shape(child, tid, rel))
                    elif child.tag == "tag":
                        self.result["tags"].append(self.tag(child, tid, rel))
            elif el.tag == "track":
                self.track(el)


def import_(dataset: Dataset, source: Path, *, format_name: str) -> dict:
    source = Path(source)
    if source.is_dir():
        files = sorted(p for p in source.rglob("*.xml") if p.is_file())
    else:
        files = [source]
    importer = _Importer(dataset)
    for path in files:
        data = path.read_bytes()
        name = path.name
        root = parse_xml(data, name)
        try:
            importer.load(root)
        except (ValueError, TypeError) as exc:
            raise ImportFailed(f"{name}: {exc}") from None
    return importer.result
