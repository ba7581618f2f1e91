"""Helpers shared by the format modules (track logic lives in ``tracks``).

* masks and RLE (pycocotools semantics: column-major run lengths starting with zeros; CVAT's own
  mask points ``[runs..., left, top, right, bottom]`` are row-major over the inclusive box);
* how CVAT's ``bindings`` hand a task to datumaro: label order, attributes converted as
  ``CvatToDmAnnotationConverter._convert_attrs`` does, item ids and file names, per-frame
  shapes (``group_by_frame``), frame matching (``match_dm_item``), image writing;
* the datumaro-style importer base (labels and attributes by name, frame matching, track
  rebuilding as ``import_dm_annotations`` does), used by coco, datumaro, mot and mask.
"""

from __future__ import annotations

import math
import os
import posixpath
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path, PurePosixPath
from typing import Any

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException
from PIL import Image, UnidentifiedImageError

from mockcvat.formats.base import AttributeSpec, Dataset, Frame, ImportFailed, LabelSpec
from mockcvat.formats.tracks import track_shapes, tracks_to_shapes, validate_track_shapes

DEFAULT_SUBSET = "default"  # datumaro's DEFAULT_SUBSET_NAME
VIDEO_FRAME_EXT = ".PNG"  # FrameProvider.VIDEO_FRAME_EXT: video frames are named frame_XXXXXX
DEFAULT_IMAGE_EXT = ".jpg"  # datumaro CocoPath.IMAGE_EXT
SOURCES = {"auto", "semi-auto", "manual", "file"}
# datumaro's IMAGE_EXTENSIONS: what its importers take for an image file
IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".jpe", ".jp2", ".png", ".bmp", ".dib", ".tif", ".tiff",
                        ".tga", ".webp", ".pfm", ".sr", ".ras", ".exr", ".hdr", ".pic", ".pbm",
                        ".pgm", ".ppm", ".pxm", ".pnm"})


# =============================================================================================
# RLE and rasterisation (pycocotools semantics: column-major, counts start with zeros)
# =============================================================================================


def runs(bits: bytes | bytearray) -> list[int]:
    """Run lengths of a 0/1 byte string, starting with the count of zeros."""
    counts: list[int] = []
    pos, n, want = 0, len(bits), 1
    while pos < n:
        nxt = bits.find(b"\x01" if want else b"\x00", pos)
        if nxt < 0:
            nxt = n
        counts.append(nxt - pos)
        pos, want = nxt, 1 - want
    return counts or [0]


def from_runs(counts: Iterable[int], size: int) -> bytearray:
    bits = bytearray(size)
    pos, val = 0, 0
    for count in counts:
        count = int(count)
        if val and count:
            bits[pos : pos + count] = b"\x01" * min(count, size - pos)
        pos += count
        val ^= 1
    return bits[:size]


def colmajor(rowmajor: bytes | bytearray, h: int, w: int) -> bytearray:
    return bytearray(b"".join(rowmajor[c::w] for c in range(w)))


def rowmajor(colmajor: bytes | bytearray, h: int, w: int) -> bytearray:
    return bytearray(b"".join(colmajor[r::h] for r in range(h)))


def poly_counts(xy: list[float], h: int, w: int) -> list[int]:
    """pycocotools ``rleFrPoly``: a polygon rasterised to column-major RLE counts."""
    k = len(xy) // 2
    scale = 5.0
    x = [int(scale * xy[2 * j] + 0.5) for j in range(k)]
    y = [int(scale * xy[2 * j + 1] + 0.5) for j in range(k)]
    x.append(x[0])
    y.append(y[0])
    u: list[int] = []
    v: list[int] = []
    for j in range(k):
        xs, xe, ys, ye = x[j], x[j + 1], y[j], y[j + 1]
        dx, dy = abs(xe - xs), abs(ys - ye)
        flip = (dx >= dy and xs > xe) or (dx < dy and ys > ye)
        if flip:
            xs, xe, ys, ye = xe, xs, ye, ys
        if dx >= dy:
            s = (ye - ys) / dx if dx else 0.0
            for d in range(dx + 1):
                t = dx - d if flip else d
                u.append(t + xs)
                v.append(int(ys + s * t + 0.5))
        else:
            s = (xe - xs) / dy
            for d in range(dy + 1):
                t = dy - d if flip else d
                v.append(t + ys)
                u.append(int(xs + s * t + 0.5))
    bx: list[int] = []
    by: list[int] = []
    for j in range(1, len(u)):
        if u[j] == u[j - 1]:
            continue
        xd = float(u[j] if u[j] < u[j - 1] else u[j] - 1)
        xd = (xd + 0.5) / scale - 0.5
        if math.floor(xd) != xd or xd < 0 or xd > w - 1:
            continue
        yd = float(v[j] if v[j] < v[j - 1] else v[j - 1])
        yd = (yd + 0.5) / scale - 0.5
        yd = 0.0 if yd < 0 else (float(h) if yd > h else yd)
        bx.append(int(xd))
        by.append(int(math.ceil(yd)))
    a = sorted([bx[j] * h + by[j] for j in range(len(bx))] + [h * w])
    prev = 0
    for j, value in enumerate(a):
        a[j], prev = value - prev, value
    counts = [a[0]]
    j = 1
    while j < len(a):
        if a[j] > 0:
            counts.append(a[j])
            j += 1
        else:
            j += 1
            if j < len(a):
                counts[-1] += a[j]
                j += 1
    return counts


def decode_rle_string(s: str) -> list[int]:
    """pycocotools ``rleFrString`` (the compressed ``counts`` string)."""
    counts: list[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def cvat_mask_to_rowmajor(points: list[float], h: int, w: int) -> bytearray:
    """CVAT mask ``[runs..., left, top, right, bottom]`` (row-major over the inclusive box)."""
    left, top, right, bottom = (math.trunc(v) for v in points[-4:])
    bw, bh = right - left + 1, bottom - top + 1
    tight = from_runs(points[:-4], max(bw, 0) * max(bh, 0))
    full = bytearray(h * w)
    for r in range(bh):
        y = top + r
        if not 0 <= y < h:
            continue
        x0, x1 = max(left, 0), min(left + bw, w)
        if x0 < x1:
            full[y * w + x0 : y * w + x1] = tight[r * bw + (x0 - left) : r * bw + (x1 - left)]
    return full


def rowmajor_to_cvat_mask(full: bytearray, h: int, w: int) -> list[float] | None:
    rows = [r for r in range(h) if 1 in full[r * w : (r + 1) * w]]
    if not rows:
        return None
    top, bottom = rows[0], rows[-1]
    left, right = w, 0
    for r in rows:
        line = full[r * w : (r + 1) * w]
        left = min(left, line.index(1))
        right = max(right, w - 1 - line[::-1].index(1))
    tight = b"".join(full[r * w + left : r * w + right + 1] for r in range(top, bottom + 1))
    counts = runs(tight)
    return [float(c) for c in counts] + [float(left), float(top), float(right), float(bottom)]


def ellipse_rowmajor(points: list[float], rotation: float, h: int, w: int) -> bytearray:
    """A filled ellipse (CVAT uses cv2.ellipse on rounded centre/axes; this is its geometry)."""
    cx, cy, right_x, top_y = points[:4]
    rx, ry = round(right_x - cx), round(cy - top_y)
    cx, cy = round(cx), round(cy)
    angle = math.radians(rotation)
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    full = bytearray(h * w)
    reach = max(rx, ry) + 1
    for y in range(max(0, cy - reach), min(h, cy + reach + 1)):
        for x in range(max(0, cx - reach), min(w, cx + reach + 1)):
            dx, dy = x - cx, y - cy
            u = dx * cos_a + dy * sin_a
            v = -dx * sin_a + dy * cos_a
            if (u / max(rx, 0.5)) ** 2 + (v / max(ry, 0.5)) ** 2 <= 1.0:
                full[y * w + x] = 1
    return full


def voc_colormap(length: int = 256) -> list[tuple[int, int, int]]:
    """datumaro ``generate_colormap``: the PASCAL VOC palette."""
    colors = []
    for index in range(length):
        rgb = [0, 0, 0]
        bits = index
        for j in range(7, -1, -1):
            for c in range(3):
                rgb[c] |= ((bits >> c) & 1) << j
            bits >>= 3
        colors.append((rgb[0], rgb[1], rgb[2]))
    return colors


# =============================================================================================
# Segmentation masks (Segmentation mask, CamVid, Cityscapes): CVAT's colour map, shapes
# rasterised as datumaro's transforms do, instances merged by group, PNGs
# =============================================================================================

BACKGROUND = "background"
_DRAWN = {"rectangle", "polygon", "mask", "ellipse"}


def hex2rgb(color: str) -> tuple[int, int, int]:
    color = (color or "#000000").lstrip("#")
    try:
        return (int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16))
    except ValueError:
        return (0, 0, 0)


def color_label_map(dataset: Dataset) -> list[tuple[str, tuple[int, int, int]]]:
    """``make_colormap`` + ``VocLabelMap(sorted(…))``: (name, colour) in file order."""
    colors: dict[str, tuple[int, int, int]] = {}
    ordered = sorted(dataset.labels, key=lambda lb: lb.id)
    if BACKGROUND not in {lb.name for lb in ordered}:
        colors[BACKGROUND] = (0, 0, 0)
    for label in ordered:
        colors[label.name] = hex2rgb(label.color)
    return sorted(colors.items(), key=lambda e: e[0])


def background_index(entries: list[tuple[str, tuple[int, int, int]]]) -> int:
    """``find_or_create_background_label``: the first black label, else ``background``."""
    for index, (_name, color) in enumerate(entries):
        if color == (0, 0, 0):
            return index
    return next(i for i, (name, _c) in enumerate(entries) if name == BACKGROUND)




def rotated_corners(points: list[float], rotation: float) -> list[float]:
    x0, y0, x1, y1 = points[:4]
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    a = math.radians(rotation)
    cos_a, sin_a = math.cos(a), math.sin(a)
    out: list[float] = []
    for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):
        dx, dy = x - cx, y - cy
        out += [cx + dx * cos_a - dy * sin_a, cy + dx * sin_a + dy * cos_a]
    return out


def shape_bitmap(shape: dict, h: int, w: int) -> bytearray | None:
    """The shape's pixels, row-major 0/1, as datumaro's transforms produce them."""
    kind = shape["type"]
    points = [float(p) for p in shape.get("points") or []]
    rotation = float(shape.get("rotation", 0) or 0)
    if kind == "rectangle" and len(points) >= 4:
        x0, y0, x1, y1 = points[:4]
        if rotation % 360:
            poly = rotated_corners(points, rotation)
        else:  # Bbox.as_polygon()
            poly = [x0, y0, x1, y0, x1, y1, x0, y1]
    elif kind == "polygon" and len(points) >= 6:
        poly = points
    elif kind == "mask" and len(points) >= 4:
        return cvat_mask_to_rowmajor(points, h, w)
    elif kind == "ellipse" and len(points) >= 4:
        return ellipse_rowmajor(points, rotation, h, w)
    else:
        return None
    return rowmajor(from_runs(poly_counts(poly, h, w), h * w), h, w)


def instances(labels: Labels, shapes: list[dict], h: int, w: int) -> list[dict]:
    """``findinstances`` + ``merge_instance_segments`` over the drawn shapes."""
    segments = []
    for shape in shapes:
        if shape["type"] not in _DRAWN:
            continue
        bits = shape_bitmap(shape, h, w)
        if bits is None:
            continue
        segments.append(
            {
                "label_id": shape["label_id"],
                "z_order": int(shape.get("z_order", 0) or 0),
                "group": int(shape.get("group") or 0),
                "bits": bits,
                "shape": shape,
            }
        )
    segments.sort(key=lambda s: s["group"])  # stable, as datumaro's findinstances
    instances: list[list[dict]] = []
    by_group: dict[int, list[dict]] = {}
    for seg in segments:
        if not seg["group"]:
            instances.append([seg])
        elif seg["group"] in by_group:
            by_group[seg["group"]].append(seg)
        else:
            by_group[seg["group"]] = [seg]
            instances.append(by_group[seg["group"]])
    merged = []
    for members in instances:
        if len(members) == 1:
            merged.append(members[0])
            continue
        leader = max(members, key=lambda s: s["bits"].count(1))
        acc = 0
        for m in members:
            acc |= int.from_bytes(m["bits"], "big")
        merged.append(dict(leader, bits=bytearray(acc.to_bytes(h * w, "big"))))
    return merged


def paint(found: list[dict], class_of: Any, h: int, w: int, background: int = 0
          ) -> tuple[list[int], list[int]]:
    """datumaro's ``CompiledMask.from_instance_masks``: per pixel, the class (``class_of(label
    id)``, ``background`` where nothing is drawn) and the 1-based instance number, instances
    painted in ``z_order`` order (stable), later ones on top."""
    class_map = [background] * (h * w)
    inst_map = [0] * (h * w)
    for number, inst in enumerate(sorted(found, key=lambda s: s["z_order"]), start=1):
        cls = class_of(inst["label_id"])
        bits = inst["bits"]
        pos = bits.find(1)
        while pos >= 0:
            class_map[pos] = cls
            inst_map[pos] = number
            pos = bits.find(1, pos + 1)
    return class_map, inst_map


def value_masks(values: Sequence[int]) -> dict[int, bytearray]:
    """Per distinct value of a label/instance map, its pixels as a row-major 0/1 mask."""
    out: dict[int, bytearray] = {}
    for pos, value in enumerate(values):
        bits = out.get(value)
        if bits is None:
            bits = out[value] = bytearray(len(values))
        bits[pos] = 1
    return out


def bits_box(bits: bytes | bytearray, h: int, w: int) -> tuple[int, int, int, int]:
    """The pixel box ``(x0, y0, x1, y1)`` (exclusive ends) of a row-major 0/1 mask; zeros
    when it is empty."""
    x0 = y0 = None
    x1 = y1 = 0
    for y in range(h):
        row = bits[y * w:(y + 1) * w]
        first = row.find(1)
        if first < 0:
            continue
        last = row.rfind(1)
        if y0 is None:
            y0 = y
        y1 = y + 1
        x0 = first if x0 is None else min(x0, first)
        x1 = max(x1, last + 1)
    return (x0 or 0, y0 or 0, x1, y1) if y0 is not None else (0, 0, 0, 0)


def mask_to_polygons(bits: bytes | bytearray, h: int, w: int) -> list[list[float]]:
    """The outer outlines of a row-major 0/1 mask's 4-connected regions, traced along pixel
    edges: each polygon rasterises back to exactly its region's pixels (holes are filled).
    CVAT traces contours with OpenCV instead; the points differ, the area does not."""
    # directed boundary edges, the filled pixels on their right (y down), merged into runs
    out_edges: dict[tuple[int, int], list[tuple[int, int]]] = {}

    def edge(a: tuple[int, int], b: tuple[int, int]) -> None:
        out_edges.setdefault(a, []).append(b)

    empty = bytes(w)
    prev = empty
    for y in range(h + 1):
        row = bytes(bits[y * w:(y + 1) * w]) if y < h else empty
        for x0, x1 in _one_runs(bytes(a & ~b & 1 for a, b in zip(row, prev, strict=True))):
            edge((x0, y), (x1, y))  # top edges of row y
        for x0, x1 in _one_runs(bytes(b & ~a & 1 for a, b in zip(row, prev, strict=True))):
            edge((x1, y), (x0, y))  # bottom edges of row y - 1
        if y < h:
            for x0, x1 in _one_runs(row):
                edge((x1, y), (x1, y + 1))
                edge((x0, y + 1), (x0, y))
        prev = row
    polygons = []
    for start in sorted(out_edges):
        while out_edges.get(start):
            loop = [start]
            here, nxt = start, out_edges[start].pop(0)
            while nxt != start:
                heading = (_sign(nxt[0] - here[0]), _sign(nxt[1] - here[1]))
                loop.append(nxt)
                here, choices = nxt, out_edges[nxt]
                # at a vertex two diagonal pixels share, keep to the pixel on the right
                best = max(choices, key=lambda c: heading[0] * _sign(c[1] - here[1])
                           - heading[1] * _sign(c[0] - here[0]))
                choices.remove(best)
                nxt = best
            area = sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(loop, loop[1:] + loop[:1],
                                                                  strict=True))
            if area > 0:  # outer outline (holes run the other way)
                polygons.append(_corners(loop))
    return polygons


def _sign(v: int) -> int:
    return (v > 0) - (v < 0)


def _one_runs(row: bytes) -> list[tuple[int, int]]:
    found, pos = [], row.find(1)
    while pos >= 0:
        end = row.find(0, pos)
        end = len(row) if end < 0 else end
        found.append((pos, end))
        pos = row.find(1, end)
    return found


def _corners(loop: list[tuple[int, int]]) -> list[float]:
    """The loop without its collinear points, flattened."""
    n = len(loop)
    out: list[float] = []
    for i, (x, y) in enumerate(loop):
        px, py = loop[i - 1]
        nx, ny = loop[(i + 1) % n]
        if (x - px) * (ny - y) - (y - py) * (nx - x) != 0:
            out += [float(x), float(y)]
    return out


def rgb_png(pixels: bytearray, w: int, h: int) -> bytes:
    buffer = BytesIO()
    Image.frombytes("RGB", (w, h), bytes(pixels)).save(buffer, format="PNG")
    return buffer.getvalue()


def save_gray_png(path: Path, values: Sequence[int], w: int, h: int, mode: str = "I;16"
                  ) -> None:
    """A class or instance map as a greyscale PNG: 8-bit ("L") or 16-bit ("I;16")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "L":
        Image.frombytes("L", (w, h), bytes(values)).save(path)
    else:
        Image.frombytes("I;16", (w, h), b"".join(v.to_bytes(2, "little") for v in values)
                        ).save(path)


def read_color_png(path: Path, inverse: dict[tuple, int], what: str) -> tuple[list[int], int, int]:
    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            w, h = image.size
            data = image.tobytes()
    except (UnidentifiedImageError, OSError) as exc:
        raise ImportFailed(f"Can't read the {what} mask '{path.name}': {exc}") from None
    out: list[int] = []
    cache: dict[bytes, int] = {}
    for i in range(0, len(data), 3):
        px = data[i : i + 3]
        index = cache.get(px)
        if index is None:
            color = (px[0], px[1], px[2])
            if color not in inverse:
                raise ImportFailed(f"{what.capitalize()} mask '{path.name}': unknown color {color}")
            index = cache[px] = inverse[color]
        out.append(index)
    return out, w, h


# =============================================================================================
# A task as CVAT's bindings hand it to datumaro
# =============================================================================================


class Labels:
    """Label lookups in CVAT's order (by label id), with Datumaro's category indexes."""

    def __init__(self, dataset: Dataset):
        self.ordered: list[LabelSpec] = sorted(dataset.labels, key=lambda lb: lb.id)
        self.by_id = {lb.id: lb for lb in self.ordered}
        self.index = {lb.id: i for i, lb in enumerate(self.ordered)}
        self.children: dict[int, list[LabelSpec]] = {}
        for lb in self.ordered:
            if lb.parent_id is not None:
                self.children.setdefault(lb.parent_id, []).append(lb)

    def name(self, label_id: int) -> str:
        return self.by_id[label_id].name

    def parent_name(self, label: LabelSpec) -> str:
        return self.by_id[label.parent_id].name if label.parent_id in self.by_id else ""

    def skeleton_layout(self, label: LabelSpec) -> tuple[list[str], list[list[int]]]:
        """Sub-label names in the SVG's circle order, and its joints (as datumaro orders them)."""
        subs = self.children.get(label.id, [])
        names: list[str] = []
        joints: list[tuple[int, int]] = []
        sub_by_id = {str(s.id): s.name for s in subs}
        for tag, attrs in re.findall(r"<\s*(circle|line)\b([^>]*)>", label.svg or ""):
            found = dict(re.findall(r'([\w-]+)\s*=\s*"([^"]*)"', attrs))
            if tag == "circle":
                name = found.get("data-label-name") or sub_by_id.get(found.get("data-label-id", ""))
                if name:
                    names.append(name)
            elif "data-node-from" in found and "data-node-to" in found:
                try:
                    joints.append((int(found["data-node-from"]), int(found["data-node-to"])))
                except ValueError:
                    pass
        if not names:
            names = [s.name for s in subs]
        return names, [list(j) for j in set(joints)]


def attr_values(label: LabelSpec, given: list[dict] | None, *, strict: bool = False
                ) -> dict[str, Any]:
    """``CvatToDmAnnotationConverter._convert_attrs``: every attribute of the label, in spec
    order, the given value or the default, numbers as floats and checkboxes as bools. A number
    that does not convert raises ``ValueError`` with ``strict`` (as CVAT does), else is kept
    as given."""
    values: dict[int, Any] = {a["spec_id"]: a["value"] for a in given or []}
    result: dict[str, Any] = {}
    for spec in label.attributes:
        value = values.get(spec.id, spec.default_value)
        if spec.input_type == "number":
            try:
                value = float(value)
            except ValueError:
                if strict:
                    raise ValueError(
                        f"Failed to convert attribute '{spec.name}'='{value}'") from None
            except TypeError:
                if strict:
                    raise
        elif spec.input_type == "checkbox":
            value = str(value).lower() == "true"
        result[spec.name] = value
    return result


def cuboid_3d(points: Sequence[float]) -> tuple[list[float], list[float], list[float]]:
    """A 3D task's cuboid points as datumaro's ``Cuboid3d``: position, rotation, scale (CVAT
    stores them as the first 9 of 16 numbers)."""
    values = [float(p) for p in points] + [0.0] * 9
    return values[0:3], values[3:6], values[6:9]


def cuboid_points(position: Sequence[float], rotation: Sequence[float],
                  scale: Sequence[float]) -> list[float]:
    """The 16 numbers CVAT stores for a 3D cuboid (the last 7 unused)."""
    return [float(v) for v in (*position, *rotation, *scale)] + [0.0] * 7


def cloud_item_id(frame: Frame) -> str:
    """A 3D item's id in CVAT's exports: the point cloud's file name without extension."""
    return PurePosixPath(frame.name).stem


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of an image's bytes, None when Pillow cannot read it."""
    try:
        with Image.open(BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError):
        return None


def images_under_subset(folder: str) -> Callable[[tuple[str, ...]], tuple[str, str] | None]:
    """A format's ``image_layout`` (where a project import finds the images) for
    ``<subset>/<folder>/<item id><ext>``."""
    def layout(parts: tuple[str, ...]) -> tuple[str, str] | None:
        if len(parts) >= 3 and parts[1] == folder:
            return parts[0], "/".join(parts[2:])
        return None

    return layout


def dm_attributes(labels: Labels, shape: dict[str, Any]) -> dict[str, Any]:
    """A shape's attributes as ``CvatToDmAnnotationConverter`` hands them to datumaro: the
    label's (typed, defaults filled), ``occluded``, ``rotation`` for boxes, and ``track_id`` /
    ``keyframe`` for the per-frame shapes of tracks."""
    attrs = attr_values(labels.by_id[shape["label_id"]], shape.get("attributes", []))
    attrs["occluded"] = bool(shape.get("occluded", False))
    if shape["type"] == "rectangle":
        attrs["rotation"] = float(shape.get("rotation", 0) or 0)
    if "track_id" in shape:
        attrs["track_id"] = shape["track_id"]
        attrs["keyframe"] = bool(shape.get("keyframe", True))
    return attrs


def frame_file_name(dataset: Dataset, frame: Frame, image_ext: str | None) -> str:
    """A frame's file name as datumaro writes it: its own, else with the video frame or
    the image extension."""
    name = frame.name
    if os.path.splitext(name)[1]:
        return name
    if dataset.mode == "interpolation":
        return name + VIDEO_FRAME_EXT
    return name + (image_ext or DEFAULT_IMAGE_EXT)


def shapes_by_frame(dataset: Dataset, frames: list[Frame]) -> dict[tuple[int, int], list[dict]]:
    """CVAT's ``group_by_frame``: per ``(task id, frame)`` of ``frames``, the standalone shapes,
    then each track's visible shapes (``tracks.tracks_to_shapes``, skeleton elements attached)."""
    ann = dataset.annotations or {}
    keys = {(f.task_id, f.frame) for f in frames}
    out: dict[tuple[int, int], list[dict]] = {k: [] for k in keys}
    task_of_frame: dict[int, int] = {f.frame: f.task_id for f in frames}

    def key(frame: int) -> tuple[int, int] | None:
        k = (task_of_frame.get(frame, 0), frame)
        return k if k in out else None

    for shape in ann.get("shapes") or []:
        k = key(shape["frame"])
        if k is not None:
            out[k].append(shape)

    end_frame = max((f.frame for f in dataset.frames), default=-1) + 1
    for shape in tracks_to_shapes(ann.get("tracks") or [], end_frame):
        k = key(shape["frame"])
        if k is not None and not shape["outside"]:
            out[k].append(shape)
    return out


@dataclass
class Item:
    """One dataset item (a frame), as ``CvatTaskOrJobDataExtractor`` builds it."""

    frame: Frame
    id: str  # the frame's file name without its extension
    media_ext: str  # "" when the name has none
    subset: str
    shapes: list[dict[str, Any]]  # tracks already cut into per-frame shapes, z_order-sorted
    tags: list[dict[str, Any]]

    def ext(self, default: str) -> str:
        return self.media_ext or default


def frame_items(dataset: Dataset) -> list[Item]:
    """Every non-deleted frame in frame order with its shapes and tags (``group_by_frame``)."""
    frames = sorted((f for f in dataset.frames if not f.deleted),
                    key=lambda f: (f.task_id, f.frame))
    by_frame: dict[int, Item] = {}
    items = []
    video = dataset.mode == "interpolation"
    for frame in frames:
        name = frame.name + (VIDEO_FRAME_EXT if video else "")
        stem, ext = posixpath.splitext(name)
        item = Item(frame, stem, ext, frame.subset or DEFAULT_SUBSET, [], [])
        items.append(item)
        by_frame.setdefault(frame.frame, item)

    annotations = dataset.annotations
    end_frame = max((f.frame for f in dataset.frames), default=-1) + 1
    shapes = [dict(s) for s in annotations.get("shapes", [])]
    for index, track in enumerate(annotations.get("tracks", [])):
        shapes += [s for s in track_shapes(track, index, end_frame) if not s["outside"]]
    for shape in sorted(shapes, key=lambda s: s.get("z_order", 0)):
        if shape["frame"] in by_frame:
            by_frame[shape["frame"]].shapes.append(shape)
    for tag in annotations.get("tags", []):
        if tag["frame"] in by_frame:
            by_frame[tag["frame"]].tags.append(tag)
    return items


def group_by_subset(items: Iterable[Item]) -> dict[str, list[Item]]:
    """Items by subset, in item order."""
    subsets: dict[str, list[Item]] = {}
    for item in items:
        subsets.setdefault(item.subset, []).append(item)
    return subsets


_SAME_EXT = {".jpeg": ".jpg", ".jpe": ".jpg", ".tif": ".tiff"}


def write_image(dataset: Dataset, frame: Frame, target: Path) -> None:
    """The frame's original bytes under ``target``; re-encoded (Pillow, by the target's
    extension) when the media is of another type, as datumaro's ``_save_image`` does."""
    data, ext = dataset.image(frame)
    if not data:
        return  # datumaro: "Item '…' has no image" — nothing written
    target.parent.mkdir(parents=True, exist_ok=True)
    source_ext, target_ext = (_SAME_EXT.get(e.lower(), e.lower()) for e in (ext, target.suffix))
    if ext and source_ext != target_ext:
        try:
            with Image.open(BytesIO(data)) as image:
                if target_ext == ".jpg" and image.mode not in ("RGB", "L"):
                    image = image.convert("RGB")
                image.save(target)
            return
        except (UnidentifiedImageError, OSError, ValueError, KeyError):
            pass  # not decodable or no writer for the extension: keep the original bytes
    target.write_bytes(data)


# =============================================================================================
# Import
# =============================================================================================


class FrameMatcher:
    """``match_dm_item``: an item id (a path without extension) → the task frame."""

    def __init__(self, dataset: Dataset) -> None:
        self._frames: dict[str, Frame] = {}
        for frame in sorted(dataset.frames, key=lambda f: f.frame):
            self._frames.setdefault(posixpath.splitext(frame.name)[0], frame)

    def match(self, item_id: str) -> Frame:
        item_id = item_id.replace("\\", "/").lstrip("/")
        frame = self._frames.get(item_id)
        if frame is None:  # the archive may hold fewer leading directories than the frame names
            parts = item_id.split("/")
            found = [f for name, f in self._frames.items()
                     if name.split("/")[-len(parts):] == parts]
            frame = found[0] if found else None
        if frame is None:
            raise ImportFailed(f"Could not match item id: '{item_id}' with any task frame")
        return frame


def label_by_name(dataset: Dataset, name: str) -> LabelSpec:
    """A top-level label by name, or CVAT's "not registered" error."""
    label = dataset.label_named(name)
    if label is None:
        raise ImportFailed(f"Label '{name}' is not registered for this task")
    return label


def new_shape(frame: int, label_id: int, kind: str, points: list[float], *,
              occluded: bool = False, attributes: list[dict[str, Any]] | None = None,
              rotation: float = 0.0) -> dict[str, Any]:
    """A standalone shape in the API's JSON shape, with the API's defaults."""
    return {"type": kind, "frame": frame, "label_id": label_id, "group": 0, "source": "manual",
            "occluded": occluded, "outside": False, "z_order": 0, "rotation": rotation,
            "points": points, "attributes": attributes or [], "elements": []}


def parse_xml(data: bytes, name: str, *, allow_doctype: bool = False) -> ET.Element:
    """An annotation file's XML tree. Like CVAT (defusedxml), any DTD, entity or external
    reference is refused, whatever the document's encoding; ``name`` goes into the message.
    ``allow_doctype``: a bare ``<!DOCTYPE …>`` is accepted (KITTI raw's boost files have one),
    entities still are not."""
    try:
        return DefusedET.fromstring(data, forbid_dtd=not allow_doctype)
    except DefusedXmlException:
        raise ImportFailed(f"{name}: DTDs and entity declarations are not allowed in "
                           "annotation files") from None
    except (ET.ParseError, ValueError) as exc:  # ValueError: an encoding expat cannot read
        raise ImportFailed(f"{name}: Failed to parse XML file: {exc}") from None


def read_instance_mask(path: Path) -> tuple[list[int], int, int]:
    """An instance mask PNG (KITTI's, MOTS's: 16- or 32-bit instance ids per pixel): its
    values row by row, its width and height."""
    try:
        with Image.open(path) as image:
            w, h = image.size
            data = image.convert("I").tobytes("raw", "I")
    except (UnidentifiedImageError, OSError) as exc:
        raise ImportFailed(f"Can't read the instance mask '{path.name}': {exc}") from None
    return [int.from_bytes(data[i:i + 4], "little", signed=True)
            for i in range(0, len(data), 4)], w, h


def read_text(path: Path) -> str:
    """A UTF-8 text file, or ImportFailed."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ImportFailed(f"'{path.name}' is not a UTF-8 text file") from None


def pop_source(raw: dict[str, Any]) -> str:
    """An imported annotation's ``source`` attribute, popped from ``raw`` when it names a CVAT
    source; else ``"manual"`` (the attribute stays, to be matched as a label attribute)."""
    return str(raw.pop("source")).lower() if str(raw.get("source", "")).lower() in SOURCES \
        else "manual"


def to_bool(value: Any) -> bool:
    """datumaro's ``str_to_bool`` for attribute values (bools, 0/1, yes/no/true/... strings)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value in (0, 1) and bool(value)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1", "t", "y")
    return False


class Importer:
    """What CVAT's ``import_dm_annotations`` does with datumaro items, the format aside:
    labels and attributes by name, items matched to frames, per-frame track shapes
    (``self.tracks``: track id → label, group, source, shapes, element shapes) rebuilt into
    tracks. Subclasses fill ``self.shapes`` and ``self.tracks``."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset
        self.labels = Labels(dataset)
        self.frames = {f.frame: f for f in dataset.frames}
        self.by_path: dict[str, int] = {}
        for f in dataset.frames:
            self.by_path.setdefault(os.path.splitext(f.name)[0], f.frame)
        self.stop_frame = max(self.frames, default=0)
        self.shapes: list[dict] = []
        self.tags: list[dict] = []
        self.tracks: dict[Any, dict] = {}

    def result(self) -> dict[str, list[dict]]:
        """What the format's ``import_`` returns: the tags, shapes and rebuilt tracks."""
        return {"tags": self.tags, "shapes": self.shapes, "tracks": self.build_tracks()}

    @contextmanager
    def annotation(self, item_id: str, index: int, kind: str) -> Iterator[None]:
        """CVAT's ``import_dm_annotations`` message for an annotation it cannot take."""
        try:
            yield
        except ImportFailed:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise ImportFailed(
                f"Image {item_id}: can't import annotation #{index} ({kind}): {exc}") from None

    def add_tag(self, *, label: LabelSpec, frame: int, raw: dict[str, Any], group: int = 0
                ) -> None:
        self.tags.append({"frame": frame, "label_id": label.id, "group": group,
                          "source": pop_source(raw), "attributes": self.attributes(label, raw)})

    # -- labels and attributes -----------------------------------------------------------------
    def label(self, name: str, parent_id: int | None = None) -> LabelSpec:
        found = self.dataset.label_named(name, parent_id)
        if found is None:
            raise ValueError(f"Label {name!r} is not registered for this task")
        return found

    @staticmethod
    def _spec(label: LabelSpec, name: str, mutable: bool | None = None) -> AttributeSpec | None:
        return next(
            (
                a
                for a in label.attributes
                if a.name == name and (mutable is None or a.mutable == mutable)
            ),
            None,
        )

    def attr_value(self, label: LabelSpec, spec: AttributeSpec, value: Any) -> str:
        text = str(value)
        if spec.input_type == "checkbox" and text != spec.default_value:
            if isinstance(value, str):
                text = value.lower()
                if text not in ("true", "false"):
                    raise ValueError(
                        f"Failed to convert attribute '{label.name}'='{value}': unexpected value"
                    )
            else:
                text = "true" if value else "false"
        return text

    def attributes(
        self, label: LabelSpec, raw: dict[str, Any], mutable: bool | None = None
    ) -> list[dict]:
        out = []
        for name, value in raw.items():
            spec = self._spec(label, name, mutable)
            if spec is not None:
                out.append({"spec_id": spec.id, "value": self.attr_value(label, spec, value)})
        return out

    def add_annotation(self, *, label: LabelSpec, kind: str, frame: int, group: int,
                       points: list[float], raw: dict[str, Any], z_order: int = 0,
                       elements: Sequence[dict[str, Any]] = ()) -> None:
        """One parsed annotation as a shape, or as a keyframe of the track its ``track_id`` and
        ``keyframe`` attributes name (CVAT's ``import_dm_annotations``). ``raw`` holds its
        attributes; the reserved ones (rotation, occluded, outside, track_id, source) are taken
        out here. ``elements``: skeleton points as ``{label, points, occluded, outside, source,
        raw}``."""
        rotation = float(raw.pop("rotation", 0.0) or 0.0)
        occluded = to_bool(raw.pop("occluded", None))
        keyframe = to_bool(raw.get("keyframe"))
        outside = to_bool(raw.pop("outside", None))
        track_id = raw.pop("track_id", None)
        source = pop_source(raw)
        if track_id is None or "keyframe" not in raw:
            self.shapes.append({
                "type": kind, "frame": frame, "label_id": label.id, "group": group,
                "source": source, "occluded": occluded, "outside": False, "z_order": z_order,
                "rotation": rotation, "points": points,
                "attributes": self.attributes(label, raw),
                "elements": [{
                    "type": "points", "frame": frame, "label_id": el["label"].id,
                    "group": group, "source": el["source"], "occluded": el["occluded"],
                    "outside": el["outside"], "z_order": z_order, "rotation": 0.0,
                    "points": el["points"], "attributes": self.attributes(el["label"], el["raw"]),
                } for el in elements],
            })
            return
        track = self.tracks.setdefault(
            track_id,
            {"label": label, "group": group, "source": source, "shapes": [], "elements": {}},
        )
        track["shapes"].append({
            "type": kind, "frame": frame, "occluded": occluded, "outside": outside,
            "keyframe": keyframe, "z_order": z_order, "rotation": rotation, "points": points,
            "raw": raw,
        })
        for el in elements:
            track["elements"].setdefault(el["label"].id, []).append({
                "type": "points", "frame": frame, "occluded": el["occluded"],
                "outside": el["outside"], "keyframe": keyframe, "z_order": 0, "rotation": 0.0,
                "points": el["points"], "raw": el["raw"],
            })

    # -- frames -------------------------------------------------------------------------------
    def match(self, item_id: str, root_hint: str | None) -> int:
        frame = self.by_path.get(item_id)
        if frame is None and root_hint and not item_id.startswith(root_hint):
            frame = self.by_path.get(os.path.join(root_hint, item_id))
        if frame is None:
            try:
                frame = int(item_id)
            except ValueError:
                frame = None
        if frame is None or frame not in self.frames:
            raise ImportFailed(f"Could not match item id: '{item_id}' with any task frame")
        return frame

    def root_hint(self, item_ids: list[str]) -> str | None:
        if not item_ids:
            return None
        longest = max(item_ids, key=lambda i: len(PurePosixPath(i).parts))
        parts = PurePosixPath(longest).parts
        for path, frame in self.by_path.items():
            if PurePosixPath(path).parts[-len(parts) :] == parts:
                match = os.path.dirname(os.path.splitext(self.frames[frame].name)[0])
                prefix = match[: -len(os.path.dirname(longest)) or None]
                return prefix[:-1] if prefix.endswith("/") else prefix
        return None

    # -- tracks -------------------------------------------------------------------------------
    def build_tracks(self) -> list[dict]:
        """``self.tracks`` as API tracks: keyframes kept by ``validate_track_shapes``, the
        immutable attributes of the last keyframe as track attributes."""
        result = []
        for track in self.tracks.values():
            label: LabelSpec = track["label"]
            shapes = validate_track_shapes(track["shapes"], self.stop_frame)
            elements = []
            for el_label_id, el_shapes in track["elements"].items():
                el_kf = validate_track_shapes(el_shapes, self.stop_frame)
                if el_kf:
                    elements.append(
                        {
                            "frame": min(s["frame"] for s in el_kf),
                            "label_id": el_label_id,
                            "group": 0,
                            "source": track["source"],
                            "attributes": [],
                            "shapes": [
                                self._tracked(s, self.labels.by_id[el_label_id]) for s in el_kf
                            ],
                        }
                    )
            if not shapes and not elements:
                continue
            immutable: list[dict] = []
            for s in shapes:
                immutable = self.attributes(label, s["raw"], mutable=False)
            result.append(
                {
                    "frame": min(s["frame"] for s in shapes) if shapes else 0,
                    "label_id": label.id,
                    "group": track["group"],
                    "source": track["source"],
                    "shapes": [self._tracked(s, label) for s in shapes],
                    "attributes": immutable,
                    "elements": elements,
                }
            )
        return result

    def _tracked(self, s: dict, label: LabelSpec) -> dict:
        return {
            "type": s["type"],
            "frame": s["frame"],
            "occluded": s["occluded"],
            "outside": s["outside"],
            "z_order": s["z_order"],
            "rotation": s["rotation"],
            "points": s["points"],
            "attributes": self.attributes(label, s["raw"], mutable=True),
        }
