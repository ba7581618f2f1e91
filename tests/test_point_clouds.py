"""3D tasks through the real cvat-sdk: point clouds (.pcd, .bin) with context images in the four
layouts CVAT recognises, frames and chunks as CVAT serves them, and the failures."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cvat_sdk.api_client import models

from mockcvat.media import pointclouds
from tests.media_files import make_image, make_point_cloud

LABELS = [{"name": "car", "type": "cuboid"}]


def zipped(root: Path, files: list[Path], name: str = "data.zip") -> str:
    target = root / name
    with zipfile.ZipFile(target, "w") as zf:
        for f in files:
            zf.write(f, f.relative_to(root))
    return str(target)


def raw(client, task_id: int, **query) -> tuple[bytes, Any]:
    _, response = client.api_client.tasks_api.retrieve_data(task_id, _parse_response=False,
                                                            **query)
    return response.data, response.headers


def test_pcd_files_make_a_3d_task(cvat_client, tmp_path):
    files = [str(make_point_cloud(tmp_path / f"scan{i}.pcd", 3 + i)) for i in range(3)]
    task = cvat_client.tasks.create_from_data({"name": "lidar", "labels": LABELS},
                                              resources=files)
    assert (task.dimension, task.size, task.mode) == ("3d", 3, "annotation")
    meta = task.get_meta()
    assert [(f.name, f.width, f.height, f.related_files) for f in meta.frames] == [
        ("scan0.pcd", 3, 1, 0), ("scan1.pcd", 4, 1, 0), ("scan2.pcd", 5, 1, 0)]
    assert task.get_frame(1, quality="original").read() == Path(files[1]).read_bytes()
    body, headers = raw(cvat_client, task.id, type="frame", number=2, quality="compressed")
    assert body == Path(files[2]).read_bytes()
    assert headers["Content-Type"] == "application/octet-stream"
    for quality in ("original", "compressed"):
        body, headers = raw(cvat_client, task.id, type="chunk", number=0, quality=quality)
        chunk = zipfile.ZipFile(io.BytesIO(body))
        assert chunk.namelist() == ["000000.pcd", "000001.pcd", "000002.pcd"]
        assert chunk.read("000001.pcd") == Path(files[1]).read_bytes()
    assert task.get_preview().read() == pointclouds.placeholder_preview()
    (job,) = task.get_jobs()
    assert job.dimension == "3d"


def test_bin_scans_become_binary_pcd_with_kitti_context_images(cvat_client, tmp_path):
    scans = [make_point_cloud(tmp_path / f"velodyne_points/data/{i:010d}.bin", 4, "bin")
             for i in range(2)]
    cameras = [make_image(tmp_path / f"image_0{cam}/data/{0:010d}.png", (16, 8))
               for cam in (0, 2)]
    task = cvat_client.tasks.create_from_data(
        {"name": "kitti", "labels": LABELS}, resources=[zipped(tmp_path, scans + cameras)])
    meta = task.get_meta()
    assert [(f.name, f.width, f.related_files) for f in meta.frames] == [
        ("velodyne_points/data/0000000000.pcd", 4, 2),
        ("velodyne_points/data/0000000001.pcd", 4, 0)]
    pcd = task.get_frame(0).read()
    header, _, body = pcd.partition(b"DATA binary\n")
    assert header.startswith(b"VERSION 0.7\nFIELDS x y z intensity\n")
    assert b"WIDTH 4\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS 4\n" in header
    assert body == scans[0].read_bytes()  # the scan's x, y, z, intensity float32 values
    context, _ = raw(cvat_client, task.id, type="context_image", number=0)
    assert len(zipfile.ZipFile(io.BytesIO(context)).namelist()) == 2


@pytest.mark.parametrize("layout", ["custom-1", "custom-2", "supervisely"])
def test_context_image_layouts(cvat_client, tmp_path, layout):
    cloud, image = {
        "custom-1": ("data/a.pcd", "data/a.jpg"),
        "custom-2": ("data/a/a.pcd", "data/a/front.png"),
        "supervisely": ("ds0/pointcloud/a.pcd", "ds0/related_images/a_pcd/front.png"),
    }[layout]
    files = [make_point_cloud(tmp_path / cloud), make_image(tmp_path / image, (16, 8))]
    task = cvat_client.tasks.create_from_data(
        {"name": layout, "labels": LABELS}, resources=[zipped(tmp_path, files)])
    assert task.size == 1 and task.get_meta().frames[0].related_files == 1


def test_images_that_are_no_context_images_fail_the_request(cvat_client, tmp_path):
    files = [make_point_cloud(tmp_path / "data/a.pcd"),
             make_image(tmp_path / "elsewhere/b.png", (16, 8))]
    with pytest.raises(Exception, match="Combined data types 2D and 3D are not supported"):
        cvat_client.tasks.create_from_data({"name": "mixed", "labels": LABELS},
                                           resources=[zipped(tmp_path, files)])


def test_cuboids_are_stored_and_read_back(cvat_client, tmp_path):
    task = cvat_client.tasks.create_from_data(
        {"name": "lidar", "labels": LABELS},
        resources=[str(make_point_cloud(tmp_path / "a.pcd"))])
    label_id = task.get_labels()[0].id
    points = [1.0, 2.0, 3.0, 0.0, 0.0, 0.5, 4.0, 2.0, 1.5] + [0.0] * 7
    task.set_annotations(models.LabeledDataRequest(shapes=[models.LabeledShapeRequest(
        type="cuboid", frame=0, label_id=label_id, points=points)]))
    (shape,) = task.get_annotations().shapes
    assert (str(shape.type), shape.points) == ("cuboid", points)


def test_damaged_point_cloud_fails_the_request(cvat_client, tmp_path):
    bad = tmp_path / "bad.pcd"
    bad.write_text("VERSION 0.7\nFIELDS x y z\nnot a header\n")
    with pytest.raises(Exception, match="Can't read the point cloud 'bad.pcd'"):
        cvat_client.tasks.create_from_data({"name": "bad", "labels": LABELS},
                                           resources=[str(bad)])


def test_a_project_keeps_one_dimension(cvat_client, tmp_path):
    project = cvat_client.projects.create({"name": "p", "labels": LABELS})
    cvat_client.tasks.create_from_data(
        {"name": "2d", "project_id": project.id},
        resources=[str(make_image(tmp_path / "a.png", (16, 8)))])
    with pytest.raises(Exception, match=r"Dimension \(3d\) of the task must be the same as "
                                        r"other tasks in project \(2d\)"):
        cvat_client.tasks.create_from_data(
            {"name": "3d", "project_id": project.id},
            resources=[str(make_point_cloud(tmp_path / "a.pcd"))])


@pytest.mark.parametrize("format_name", ["Datumaro 3D 1.0", "Kitti Raw Format 1.0",
                                         "Sly Point Cloud Format 1.0"])
def test_3d_formats_through_the_sdk(cvat_client, tmp_path, format_name):
    """A 3D task and its project exported with their point clouds (read back with pypcd4) and
    context images; the task's export imported back."""
    from pypcd4 import PointCloud

    files = [make_point_cloud(tmp_path / f"velodyne_points/data/{i:04d}.pcd", 4 + i)
             for i in range(2)] + [make_image(tmp_path / "image_00/data/0000.png", (16, 8))]
    project = cvat_client.projects.create({"name": "p", "labels": LABELS})
    task = cvat_client.tasks.create_from_data(
        {"name": "lidar", "project_id": project.id}, resources=[zipped(tmp_path, files)])
    label_id = task.get_labels()[0].id
    shapes = [models.LabeledShapeRequest(type="cuboid", frame=f, label_id=label_id,
                                         points=[f, 2.0, 3.0, 0.0, 0.0, 0.5, 4.0, 2.0, 1.5]
                                         + [0.0] * 7, occluded=f == 1) for f in (0, 1)]
    task.set_annotations(models.LabeledDataRequest(shapes=shapes))

    target = tmp_path / "task.zip"
    task.export_dataset(format_name, str(target), include_images=True)
    archive = zipfile.ZipFile(target)
    clouds = [n for n in archive.namelist() if n.endswith(".pcd")]
    assert len(clouds) == 2
    archive.extract(clouds[0], tmp_path / "out")
    cloud = PointCloud.from_path(tmp_path / "out" / clouds[0])
    assert cloud.metadata.width in (4, 5) and cloud.numpy().shape[1] == 4
    assert any(n.endswith(".png") for n in archive.namelist())  # the context image
    project.export_dataset(format_name, str(tmp_path / "project.zip"), include_images=False)
    assert zipfile.ZipFile(tmp_path / "project.zip").namelist()

    task.remove_annotations()
    task.import_annotations(format_name, str(target))
    back = sorted((s.frame, str(s.type), s.points[:9], s.occluded)
                  for s in task.get_annotations().shapes)
    assert back == [(0, "cuboid", [0.0, 2.0, 3.0, 0.0, 0.0, 0.5, 4.0, 2.0, 1.5], False),
                    (1, "cuboid", [1.0, 2.0, 3.0, 0.0, 0.0, 0.5, 4.0, 2.0, 1.5], True)]


@pytest.mark.parametrize("format_name", ["Datumaro 3D 1.0", "Kitti Raw Format 1.0",
                                         "Sly Point Cloud Format 1.0"])
def test_3d_project_from_a_dataset(cvat_client, tmp_path, format_name):
    """A project made from a 3D export with its point clouds: a 3D task with the clouds, their
    context image and the cuboids."""
    files = [make_point_cloud(tmp_path / f"velodyne_points/data/{i:04d}.pcd", 4 + i)
             for i in range(2)] + [make_image(tmp_path / "image_00/data/0000.png", (16, 8))]
    project = cvat_client.projects.create({"name": "p", "labels": LABELS})
    task = cvat_client.tasks.create_from_data(
        {"name": "lidar", "project_id": project.id}, resources=[zipped(tmp_path, files)])
    label_id = task.get_labels()[0].id
    task.set_annotations(models.LabeledDataRequest(shapes=[models.LabeledShapeRequest(
        type="cuboid", frame=1, label_id=label_id, points=[1.0] * 9 + [0.0] * 7)]))
    project.export_dataset(format_name, str(tmp_path / "project.zip"), include_images=True)

    copy = cvat_client.projects.create_from_dataset(
        {"name": "copy", "labels": LABELS}, dataset_path=str(tmp_path / "project.zip"),
        dataset_format=format_name)
    (restored,) = copy.get_tasks()
    assert (restored.dimension, restored.size) == ("3d", 2)
    assert [f.related_files for f in restored.get_meta().frames] == [1, 0]
    (shape,) = restored.get_annotations().shapes
    assert (shape.frame, str(shape.type), shape.points[:9]) == (1, "cuboid", [1.0] * 9)
