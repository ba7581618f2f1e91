"""How close upstream datumaro's output is to mockcvat's (the figures in docs/architecture.md).

Needs a Python with ``datumaro`` installed (not a mockcvat dependency), e.g.::

    python3 -m venv /tmp/dm && /tmp/dm/bin/pip install datumaro==1.13.12
    .venv/bin/python bench/datumaro_compare.py /tmp/dm/bin/python

Writes one small task (3 frames: a box with an attribute, a polygon and a box, a tag) with
mockcvat's converters and with datumaro's exporters called as CVAT calls them, then prints, per
format, how many files are byte-identical and the mean text similarity of the others.
"""

from __future__ import annotations

import difflib
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from mockcvat.formats import exporter
from mockcvat.formats.base import AttributeSpec, Dataset, Frame, LabelSpec

# mockcvat display name -> datumaro exporter (CVAT 2.26's choice)
FORMATS = {
    "COCO 1.0": "coco_instances", "COCO Keypoints 1.0": "coco_person_keypoints",
    "Datumaro 1.0": "datumaro", "PASCAL VOC 1.1": "voc", "YOLO 1.1": "yolo",
    "Ultralytics YOLO Detection 1.0": "yolo_ultralytics", "ImageNet 1.0": "imagenet_txt",
    "Segmentation mask 1.1": "voc_segmentation", "MOT 1.1": "mot_seq_gt",
}

DATUMARO_SIDE = textwrap.dedent('''
    import sys
    from pathlib import Path
    import numpy as np
    from datumaro.components.annotation import AnnotationType, Bbox, Label, LabelCategories, Polygon
    from datumaro.components.dataset import Dataset
    from datumaro.components.dataset_base import DatasetItem
    from datumaro.components.media import Image

    labels = LabelCategories.from_iterable(["car", "person"])
    labels.attributes.update({"occluded", "color"})
    def item(i, anns, subset="default"):
        return DatasetItem(id=f"img{i}", subset=subset, attributes={"frame": i}, annotations=anns,
                           media=Image.from_numpy(data=np.zeros((48, 64, 3), dtype=np.uint8)))
    def anns():
        return [[Bbox(4.0, 5.0, 16.0, 25.0, label=0, attributes={"color": "blue",
                      "occluded": False, "rotation": 0.0})],
                [Label(1)],
                [Polygon([10.0, 10.0, 30.0, 10.0, 30.0, 40.0], label=1,
                         attributes={"occluded": False}),
                 Bbox(1.0, 2.0, 10.0, 10.0, label=1, attributes={"occluded": False,
                      "rotation": 0.0})]]
    out = Path(sys.argv[1])
    for name, fmt in (a.split("=") for a in sys.argv[2:]):
        subset = "train" if fmt == "yolo_ultralytics" else "default"
        ds = Dataset.from_iterable([item(i, a, subset) for i, a in enumerate(anns())],
                                   categories={AnnotationType.label: labels}, media_type=Image)
        kwargs = {}
        if fmt == "voc_segmentation":
            ds = ds.transform("polygons_to_masks").transform("boxes_to_masks") \\
                .transform("merge_instance_segments")
            kwargs = {"apply_colormap": True, "label_map": {
                "background": [(0, 0, 0), [], []], "car": [(250, 50, 83), [], []],
                "person": [(61, 61, 245), [], []]}}
        try:
            ds.export(str(out / name), fmt, save_media=False, **kwargs)
        except Exception as exc:  # noqa: BLE001 - reported, not fatal
            print(f"{name}: datumaro failed: {type(exc).__name__}: {exc}", file=sys.stderr)
''')


def mockcvat_side(out: Path) -> None:
    color = AttributeSpec(10, "color", False, "select", "red", ("red", "blue"))
    labels = [LabelSpec(1, "car", "#fa3253", "any", (color,)),
              LabelSpec(2, "person", "#3d3df5", "any")]

    def shape(kind: str, frame: int, label: int, points: list[float], **extra: object) -> dict:
        return {"type": kind, "frame": frame, "label_id": label, "group": 0, "source": "manual",
                "occluded": False, "outside": False, "z_order": 0, "rotation": 0.0,
                "points": points, "attributes": [], "elements": [], **extra}

    annotations = {
        "tags": [{"frame": 1, "label_id": 2, "group": 0, "source": "manual", "attributes": []}],
        "shapes": [shape("rectangle", 0, 1, [4.0, 5.0, 20.0, 30.0],
                         attributes=[{"spec_id": 10, "value": "blue"}]),
                   shape("polygon", 2, 2, [10.0, 10.0, 30.0, 10.0, 30.0, 40.0]),
                   shape("rectangle", 2, 2, [1.0, 2.0, 11.0, 12.0])],
        "tracks": []}
    dataset = Dataset(kind="task", id=1, name="t", mode="annotation", labels=labels,
                      frames=[Frame(i, f"img{i}.jpg", 64, 48) for i in range(3)],
                      annotations=annotations)
    for name in FORMATS:
        exporter(name).export(dataset, out / name, save_images=False, format_name=name)


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file()} if root.is_dir() else {}


def main() -> None:
    python = sys.argv[1] if len(sys.argv) > 1 else "python3"
    with tempfile.TemporaryDirectory() as tmp:
        ours, theirs = Path(tmp) / "mockcvat", Path(tmp) / "datumaro"
        mockcvat_side(ours)
        script = Path(tmp) / "datumaro_side.py"
        script.write_text(DATUMARO_SIDE)
        subprocess.run([python, str(script), str(theirs),
                        *(f"{k}={v}" for k, v in FORMATS.items())], check=True)
        print("format | files equal / compared | mean text similarity (non-PNG)")
        for name in FORMATS:
            a, b = files(ours / name), files(theirs / name)
            common = sorted(set(a) & set(b))
            same = sum(a[k] == b[k] for k in common)
            texts = [difflib.SequenceMatcher(None, a[k].decode(errors="replace"),
                                             b[k].decode(errors="replace"),
                                             autojunk=False).ratio()
                     for k in common if not k.endswith(".png")]
            mean = f"{sum(texts) / len(texts):.2f}" if texts else "-"
            print(f"{name} | {same}/{len(common)} | {mean}")


if __name__ == "__main__":
    main()
