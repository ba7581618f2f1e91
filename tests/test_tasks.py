"""Projects, tasks, jobs, labels and task data through the real cvat-sdk 2.80: every upload
path, the media the server derives, and the background request that processes it."""

from __future__ import annotations

import gc
import io
import zipfile
from pathlib import Path

import pytest
from cvat_sdk.core import uploading
from cvat_sdk.core.exceptions import BackgroundRequestException
from cvat_sdk.core.proxies.tasks import ResourceType
from cvat_sdk.datasets import TaskDataset
from PIL import Image

from tests.media_files import make_image, make_video

LABELS = [
    {"name": "car", "color": "#ff0000", "attributes": [
        {"name": "model", "mutable": False, "input_type": "select",
         "values": ["sedan", "truck"], "default_value": "sedan"}]},
    {"name": "person"},
]


def noise_image(path: Path, size: tuple[int, int]) -> Path:
    """An image that compresses badly, so its file is large."""
    Image.effect_noise(size, 100).convert("RGB").save(path)
    return path


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    """Three small images and one large one (named so that lexicographic order is by index)."""
    paths = [make_image(tmp_path / f"img{i}.png", (40 + i, 30), color=(i * 60, 0, 0))
             for i in range(3)]
    paths.append(noise_image(tmp_path / "img3.png", (64, 64)))
    return paths


@pytest.fixture
def small_sdk_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's 100 MiB bulk / 10 MiB TUS chunk limits, scaled down to test-sized files."""
    monkeypatch.setitem(uploading.DataUploader.__init__.__kwdefaults__, "max_request_size", 3000)
    monkeypatch.setattr(uploading, "TUS_CHUNK_SIZE", 2000)


def sent(server, method: str, path_part: str) -> list[dict]:
    return [e for e in server.journal if e["method"] == method and path_part in e["path"]]


def test_create_from_local_files_uses_bulk_and_tus(cvat_server, cvat_client, images,
                                                   small_sdk_limits):
    assert images[3].stat().st_size > 3000 > images[0].stat().st_size
    cvat_server.record_requests()
    task = cvat_client.tasks.create_from_data(
        {"name": "cars", "labels": LABELS, "segment_size": 3},
        resources=[str(p) for p in images], resource_type=ResourceType.LOCAL,
        data_params={"image_quality": 80})
    chunks = -(-images[3].stat().st_size // 2000)  # only the large file goes by TUS
    assert [e["status"] for e in sent(cvat_server, "PATCH", "/data/")] == [204] * chunks
    assert sent(cvat_server, "POST", "/data/")  # Upload-Start, Multiple, TUS create, Finish

    assert (task.size, task.mode, task.image_quality) == (4, "annotation", 80)
    assert (task.segment_size, task.overlap) == (3, 0)
    assert task.data_original_chunk_type == task.data_compressed_chunk_type == "imageset"
    frames = task.get_frames_info()
    assert [f.name for f in frames] == ["img0.png", "img1.png", "img2.png", "img3.png"]
    assert [(f.width, f.height) for f in frames] == [(40, 30), (41, 30), (42, 30), (64, 64)]
    jobs = sorted(task.get_jobs(), key=lambda j: j.start_frame)
    assert [(j.start_frame, j.stop_frame) for j in jobs] == [(0, 2), (3, 3)]
    assert {label.name for label in task.get_labels()} == {"car", "person"}


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_frames_chunks_meta_and_previews(cvat_client, images, tmp_path):
    """(``Job.get_frame`` leaks the temp file its generated API client makes of a binary
    answer; that is the SDK's doing, whatever the server, hence the warning filter.)"""
    task = cvat_client.tasks.create_from_data(
        {"name": "frames", "labels": LABELS}, resources=[str(p) for p in images[:3]])
    original = Image.open(task.get_frame(1, quality="original"))
    assert original.size == (41, 30) and original.format == "PNG"
    assert Image.open(task.get_frame(1)).format == "JPEG"
    task.download_frames([0, 2], outdir=str(tmp_path / "out"), quality="original")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "frame_000000.png", "frame_000002.png"]
    assert Image.open(task.get_preview()).format == "JPEG"

    chunk = io.BytesIO()
    task.download_chunk(0, chunk, quality="original")
    with zipfile.ZipFile(chunk) as archive:
        assert archive.namelist() == ["000000.png", "000001.png", "000002.png"]
        assert Image.open(archive.open("000002.png")).size == (42, 30)

    job = task.get_jobs()[0]
    assert job.get_meta().size == 3
    assert Image.open(job.get_frame(2, quality="original")).size == (42, 30)
    assert Image.open(job.get_preview()).format == "JPEG"
    gc.collect()  # report the SDK's leaked file here, under this test's filter

    task.remove_frames_by_ids([1])
    assert task.get_meta().deleted_frames == [1]


def test_task_dataset_reads_the_frames(cvat_client, images):
    task = cvat_client.tasks.create_from_data(
        {"name": "dataset", "labels": LABELS}, resources=[str(p) for p in images[:3]])
    dataset = TaskDataset(cvat_client, task.id, load_annotations=False)
    assert [s.frame_name for s in dataset.samples] == ["img0.png", "img1.png", "img2.png"]
    assert [s.media.load_image().size for s in dataset.samples] == [(40, 30), (41, 30),
                                                                   (42, 30)]


def test_share_files(share_dir, cvat_client):
    share = share_dir
    for i in range(2):
        make_image(share / "set" / f"s{i}.jpg", (32, 24))
    task = cvat_client.tasks.create_from_data(
        {"name": "shared", "labels": LABELS}, resources=["set/"],
        resource_type=ResourceType.SHARE)
    assert [f.name for f in task.get_frames_info()] == ["set/s0.jpg", "set/s1.jpg"]


def test_video_task(cvat_client, tmp_path):
    video = make_video(tmp_path / "clip.mp4", frames=12)
    task = cvat_client.tasks.create_from_data(
        {"name": "video", "labels": LABELS, "segment_size": 8},
        resources=[str(video)], data_params={"frame_step": 2})
    assert (task.mode, task.size) == ("interpolation", 6)
    assert task.data_original_chunk_type == "video"
    meta = task.get_meta()
    assert (meta.start_frame, meta.stop_frame, meta.frame_filter) == (0, 10, "step=2")
    assert [f.name for f in meta.frames] == ["clip.mp4"]
    assert Image.open(task.get_frame(5, quality="original")).size == (64, 48)
    # overlap defaults to 5 for video, capped at half a segment
    assert sorted((j.start_frame, j.stop_frame) for j in task.get_jobs()) == [(0, 5)]


def test_project_with_tasks(cvat_client, images):
    project = cvat_client.projects.create({"name": "fleet", "labels": LABELS})
    task = cvat_client.tasks.create_from_data(
        {"name": "in project", "project_id": project.id}, resources=[str(images[0])])
    assert task.project_id == project.id
    assert [label.name for label in task.get_labels()] == ["car", "person"]
    project.fetch()
    assert project.tasks.count == 1 and project.dimension == "2d"
    assert [t.id for t in project.get_tasks()] == [task.id]
    assert Image.open(project.get_preview()).format == "JPEG"
    project.update({"name": "renamed fleet"})
    assert cvat_client.projects.retrieve(project.id).name == "renamed fleet"
    project.remove()
    assert cvat_client.tasks.list() == []


def test_update_and_remove_task(cvat_client, images):
    task = cvat_client.tasks.create_from_data(
        {"name": "before", "labels": LABELS}, resources=[str(images[0])])
    task.update({"name": "after", "subset": "train"})
    assert (task.name, task.subset) == ("after", "train")
    job = task.get_jobs()[0]
    job.update({"stage": "acceptance", "state": "completed"})
    assert cvat_client.tasks.retrieve(task.id).jobs.completed == 1
    task.remove()
    assert cvat_client.tasks.list() == []


def test_corrupt_image_fails_the_request_and_leaves_no_jobs(cvat_client, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(BackgroundRequestException) as info:
        cvat_client.tasks.create_from_data({"name": "bad", "labels": LABELS},
                                           resources=[str(bad)])
    assert "bad.png" in str(info.value)
    (task,) = cvat_client.tasks.list()
    assert (task.size, task.jobs.count, task.mode) == (0, 0, "")
