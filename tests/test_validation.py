"""Ground-truth jobs and validation layouts: ``POST /api/jobs``, GT at task creation
(``validation_params``), ``/api/{tasks,jobs}/{id}/validation_layout`` and deleting a GT job,
through the real cvat-sdk 2.80 where it has calls and raw HTTP for the error bodies."""

from __future__ import annotations

from pathlib import Path

import pytest
from cvat_sdk.api_client import models
from cvat_sdk.core.exceptions import BackgroundRequestException
from cvat_sdk.core.proxies.tasks import ResourceType

from tests.media_files import make_image, make_video

LABELS = [{"name": "car"}]
SIZE = 10


@pytest.fixture
def image_files(tmp_path: Path) -> list[str]:
    return [str(make_image(tmp_path / f"img{i}.png", (32, 24), color=(i * 20, 0, 0)))
            for i in range(SIZE)]


def make_task(client, files: list[str], *, segment_size: int = 4, **data_params):
    return client.tasks.create_from_data(
        {"name": "gt", "labels": LABELS, "segment_size": segment_size},
        resources=files, resource_type=ResourceType.LOCAL,
        data_params={"image_quality": 70, **data_params})


def gt_job(client, task_id: int, **body):
    job, _ = client.api_client.jobs_api.create(
        models.JobWriteRequest(type="ground_truth", task_id=task_id, **body))
    return job


def value(enum) -> str:
    return getattr(enum, "value", enum)


def errors(response) -> list:
    assert response.status_code == 400, response.text
    return response.json()


def job_ids(task) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for job in task.get_jobs():
        out.setdefault(value(job.type), []).append(job.id)
    return out


def layout(client, task_id: int) -> dict:
    data, _ = client.api_client.tasks_api.retrieve_validation_layout(task_id)
    return data.to_dict()


# --- POST /api/jobs --------------------------------------------------------------------------
def test_random_uniform_gt_job(cvat_client, image_files, admin):
    task = make_task(cvat_client, image_files)
    assert layout(cvat_client, task.id) == {"mode": None, "frames_per_job_count": None}
    job = gt_job(cvat_client, task.id, frame_selection_method="random_uniform", frame_count=4,
                 random_seed=42)
    assert value(job.type) == "ground_truth"
    assert job.frame_count == 4
    assert (job.start_frame, job.stop_frame) == (0, SIZE - 1)  # CVAT: the whole task range
    assert job.task_id == task.id

    task.fetch()
    assert task.validation_mode == "gt"
    assert task.jobs["count"] == 4  # 3 annotation jobs (segment_size 4) + the GT job
    got = layout(cvat_client, task.id)
    frames = got["validation_frames"]
    assert len(frames) == len(set(frames)) == 4
    assert all(0 <= f < SIZE for f in frames)
    assert got == {"mode": "gt", "frames_per_job_count": None, "validation_frames": frames,
                   "disabled_frames": []}
    meta = admin.get(f"/api/jobs/{job.id}/data/meta").json()
    assert meta["included_frames"] == sorted(frames)
    assert meta["size"] == 4

    # the same seed gives the same frames (after deleting the GT job, which clears the layout)
    cvat_client.api_client.jobs_api.destroy(job.id)
    task.fetch()
    assert task.validation_mode is None
    assert layout(cvat_client, task.id) == {"mode": None, "frames_per_job_count": None}
    again = gt_job(cvat_client, task.id, frame_selection_method="random_uniform",
                   frame_count=4, random_seed=42)
    assert layout(cvat_client, task.id)["validation_frames"] == frames
    cvat_client.api_client.jobs_api.destroy(again.id)
    other = gt_job(cvat_client, task.id, frame_selection_method="random_uniform",
                   frame_count=4, random_seed=7)
    assert layout(cvat_client, task.id)["validation_frames"] != frames
    assert other.frame_count == 4


def test_frame_share_and_listing(cvat_client, image_files, admin):
    task = make_task(cvat_client, image_files)
    response = admin.post("/api/jobs", json={
        "type": "ground_truth", "task_id": task.id, "frame_selection_method": "random_uniform",
        "frame_share": 0.35, "seed": 3})  # no "seed" from 2.44 (cvat-sdk 2.44): ignored
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["frame_count"] == 3  # max(1, int(0.35 * 10))
    assert body["data_compressed_chunk_type"] == "imageset"
    assert len(layout(cvat_client, task.id)["validation_frames"]) == 3
    listed = admin.get("/api/jobs", params={"task_id": task.id, "type": "ground_truth"}).json()
    assert [j["id"] for j in listed["results"]] == [body["id"]]
    assert admin.get("/api/tasks", params={"validation_mode": "gt"}).json()["count"] == 1


def test_random_per_job(cvat_client, image_files):
    task = make_task(cvat_client, image_files)  # segments [0-3], [4-7], [8-9]
    job = gt_job(cvat_client, task.id, frame_selection_method="random_per_job",
                 frames_per_job_count=2, random_seed=1)
    frames = layout(cvat_client, task.id)["validation_frames"]
    assert job.frame_count == len(frames) == 6
    assert len(set(frames)) == 6
    for start, stop in ((0, 3), (4, 7), (8, 9)):
        assert len([f for f in frames if start <= f <= stop]) == 2


def test_random_per_job_with_overlap(cvat_client, image_files):
    task = cvat_client.tasks.create_from_data(
        {"name": "gt", "labels": LABELS, "segment_size": 4, "overlap": 2},
        resources=image_files, data_params={"image_quality": 70})
    job = gt_job(cvat_client, task.id, frame_selection_method="random_per_job",
                 frames_per_job_share=0.5, random_seed=5)  # 2 per job
    frames = layout(cvat_client, task.id)["validation_frames"]
    assert len(frames) == len(set(frames)) == job.frame_count
    for start in (0, 2, 4, 6):  # every job holds at least 2 GT frames
        assert len([f for f in frames if start <= f <= start + 3]) >= 2


def test_manual_gt_job_and_meta(cvat_client, image_files, admin):
    task = make_task(cvat_client, image_files)
    job = gt_job(cvat_client, task.id, frame_selection_method="manual", frames=[7, 1, 5])
    assert job.frame_count == 3
    assert layout(cvat_client, task.id)["validation_frames"] == [7, 1, 5]  # as given
    meta = admin.get(f"/api/jobs/{job.id}/data/meta").json()
    assert meta["included_frames"] == [1, 5, 7]
    ids = job_ids(cvat_client.tasks.retrieve(task.id))
    assert ids["ground_truth"] == [job.id] and len(ids["annotation"]) == 3


def test_create_gt_job_errors(cvat_client, image_files, admin):
    task = make_task(cvat_client, image_files)

    def post(**body):
        return admin.post("/api/jobs", json={"type": "ground_truth", "task_id": task.id,
                                              **body})

    uniform = {"frame_selection_method": "random_uniform"}
    assert errors(post(**uniform, frame_count=11)) == [
        "The number of frames requested (11) must be not be greater than the number of the "
        "task frames (10)"]
    assert errors(post(**uniform, frame_share=0.0)) == [
        "The number of validation frames is not specified"]
    assert errors(post(**uniform)) == {"non_field_errors": [
        'One of the fields "frame_count", "frame_share" required']}
    assert errors(post(**uniform, frame_count=2, frames=[1])) == {"non_field_errors": [
        '"frames" can only be used when "frame_selection_method" is "manual"']}
    assert errors(post(frame_selection_method="random_per_job", frames_per_job_count=11)) == [
        "The number of frames requested (11) must be not be greater than the segment size (4)"]
    manual = {"frame_selection_method": "manual"}
    assert errors(post(**manual, frames=[1, 1])) == ["Frames must not repeat"]
    assert errors(post(**manual, frames=[3, 12, 10])) == [
        "The following frames do not exist in the task: 10, 12"]
    assert errors(post(**manual)) == {"non_field_errors": ['The "frames" field is required']}
    assert errors(admin.post("/api/jobs", json={
        "type": "annotation", "task_id": task.id, **manual, "frames": [1]})) == [
        "Unexpected job type 'annotation'"]
    assert errors(admin.post("/api/jobs", json={"type": "ground_truth", **manual,
                                                "frames": [1]})) == ["task_id is not specified"]
    assert errors(admin.post("/api/jobs", json={"type": "ground_truth", "task_id": 999,
                                                **manual, "frames": [1]})) == [
        "Task matching query does not exist."]

    assert post(**manual, frames=[0]).status_code == 201
    assert errors(post(**manual, frames=[2])) == [
        'Task with validation mode "gt" cannot have more than 1 GT job']

    empty = cvat_client.tasks.create({"name": "empty", "labels": LABELS})
    assert errors(admin.post("/api/jobs", json={
        "type": "ground_truth", "task_id": empty.id, **manual, "frames": [0]})) == [
        "This task has no data attached yet. Please set up task data and try again"]


def test_only_gt_jobs_can_be_deleted(cvat_client, image_files, admin):
    task = make_task(cvat_client, image_files)
    annotation = job_ids(task)["annotation"][0]
    assert errors(admin.delete(f"/api/jobs/{annotation}")) == [
        "Only ground truth jobs can be removed"]


# --- GT at task creation ---------------------------------------------------------------------
def test_gt_at_creation_random_uniform(cvat_client, image_files, admin):
    params = {"mode": "gt", "frame_selection_method": "random_uniform", "frame_count": 3,
              "random_seed": 11}
    task = make_task(cvat_client, image_files, validation_params=params)
    assert task.validation_mode == "gt"
    ids = job_ids(task)
    assert len(ids["annotation"]) == 3 and len(ids["ground_truth"]) == 1
    assert max(ids["annotation"]) < ids["ground_truth"][0]  # made after the annotation jobs
    got = layout(cvat_client, task.id)
    frames = got["validation_frames"]
    assert frames == sorted(frames) and len(set(frames)) == 3
    assert all(0 <= f < SIZE for f in frames)
    gt = cvat_client.jobs.retrieve(ids["ground_truth"][0])
    assert gt.frame_count == 3
    assert admin.get(f"/api/jobs/{gt.id}/data/meta").json()["included_frames"] == frames

    again = make_task(cvat_client, image_files, validation_params=params)
    assert layout(cvat_client, again.id)["validation_frames"] == frames  # same seed


def test_gt_at_creation_manual_and_per_job(cvat_client, image_files):
    task = make_task(cvat_client, image_files, validation_params={
        "mode": "gt", "frame_selection_method": "manual", "frames": ["img8.png", "img2.png"]})
    assert layout(cvat_client, task.id)["validation_frames"] == [2, 8]

    task = make_task(cvat_client, image_files, segment_size=5, validation_params={
        "mode": "gt", "frame_selection_method": "random_per_job", "frames_per_job_count": 2})
    frames = layout(cvat_client, task.id)["validation_frames"]
    assert len([f for f in frames if f < 5]) == 2 and len([f for f in frames if f >= 5]) == 2


@pytest.mark.parametrize(("segment_size", "params", "message"), [
    (4, {"frame_selection_method": "random_uniform", "frame_count": 11},
     "The number of validation frames requested (11) is greater that the number of task "
     "frames (10)"),
    (4, {"frame_selection_method": "random_uniform", "frame_share": 0.0},
     "The number of validation frames is not specified"),
    (0, {"frame_selection_method": "random_per_job", "frames_per_job_count": 2},
     "Validation frame count per job cannot be greater than segment size"),
    (20, {"frame_selection_method": "random_per_job", "frames_per_job_count": 15},
     "The requested number of GT frames per job must be less than task segment size (10)"),
    (4, {"frame_selection_method": "manual", "frames": ["nope.png", "img1.png", "gone.png"]},
     "Unknown validation frames requested: gone.png, nope.png"),
])
def test_gt_at_creation_failures(cvat_client, image_files, segment_size, params, message):
    task = cvat_client.tasks.create({"name": "bad", "labels": LABELS,
                                     "segment_size": segment_size})
    with pytest.raises(BackgroundRequestException) as failure:
        task.upload_data(image_files, resource_type=ResourceType.LOCAL, params={
            "image_quality": 70, "validation_params": {"mode": "gt", **params}})
    assert message in str(failure.value)
    task.fetch()
    assert (task.size, task.jobs["count"], task.validation_mode) == (0, 0, None)


def test_gt_at_creation_manual_video(cvat_client, tmp_path):
    video = str(make_video(tmp_path / "clip.mp4"))
    task = cvat_client.tasks.create({"name": "video", "labels": LABELS})
    with pytest.raises(BackgroundRequestException) as failure:
        task.upload_data([video], resource_type=ResourceType.LOCAL, params={
            "image_quality": 70, "validation_params": {
                "mode": "gt", "frame_selection_method": "manual", "frames": ["clip.mp4"]}})
    assert ("manual validation frame selection method at task creation is only available for "
            "image-based tasks. Please create the GT job after the task is created."
            ) in str(failure.value)


def test_gt_pool_is_refused(cvat_client, image_files, admin):
    task = cvat_client.tasks.create({"name": "pool", "labels": LABELS})
    response = admin.post(f"/api/tasks/{task.id}/data/", json={
        "image_quality": 70, "server_files": [], "validation_params": {
            "mode": "gt_pool", "frame_selection_method": "random_uniform", "frame_count": 2,
            "frames_per_job_count": 1}})
    body = errors(response)
    assert "not supported by this mock" in body["validation_params"]["mode"][0]


# --- validation layouts ------------------------------------------------------------------------
def test_task_layout_disabled_frames(cvat_client, image_files, admin):
    task = make_task(cvat_client, image_files)
    tasks_api = cvat_client.api_client.tasks_api
    response = admin.patch(f"/api/tasks/{task.id}/validation_layout",
                           json={"disabled_frames": [1]})
    assert errors(response) == [
        "Task has no validation setup configured. Validation must be initialized during task "
        "creation"]

    gt_job(cvat_client, task.id, frame_selection_method="manual", frames=[1, 4, 6])
    updated, _ = tasks_api.partial_update_validation_layout(
        task.id, patched_task_validation_layout_write_request=models
        .PatchedTaskValidationLayoutWriteRequest(disabled_frames=[6, 1]))
    assert updated.to_dict() == {"mode": "gt", "frames_per_job_count": None,
                                 "validation_frames": [1, 4, 6], "disabled_frames": [6, 1]}
    assert layout(cvat_client, task.id)["disabled_frames"] == [6, 1]

    assert errors(admin.patch(f"/api/tasks/{task.id}/validation_layout",
                              json={"disabled_frames": [2, 1, 9]})) == [
        "Unknown frames requested for exclusion from the validation set: 2, 9"]
    assert errors(admin.patch(f"/api/tasks/{task.id}/validation_layout", json={
        "disabled_frames": [], "frame_selection_method": "random_uniform"})) == [
        "Honeypots can only be modified if the task validation mode is 'gt_pool'"]
    assert layout(cvat_client, task.id)["disabled_frames"] == [6, 1]  # rolled back
    assert errors(admin.patch(f"/api/tasks/{task.id}/validation_layout", json={
        "frame_selection_method": "manual"})) == {
        "non_field_errors": ['The "honeypot_real_frames" field is required']}

    restored = admin.patch(f"/api/tasks/{task.id}/validation_layout",
                           json={"disabled_frames": []})
    assert restored.status_code == 200 and restored.json()["disabled_frames"] == []
    assert admin.get(f"/api/tasks/{task.id}/validation_layout").headers[
        "content-type"].startswith("application/vnd.cvat+json")


def test_job_layout(cvat_client, image_files, admin):
    task = make_task(cvat_client, image_files)
    annotation = job_ids(task)["annotation"][0]
    jobs_api = cvat_client.api_client.jobs_api
    got, _ = jobs_api.retrieve_validation_layout(annotation)
    assert got.to_dict() == {}
    gt = gt_job(cvat_client, task.id, frame_selection_method="manual", frames=[0, 9])
    got, _ = jobs_api.retrieve_validation_layout(gt.id)
    assert got.to_dict() == {}

    url = f"/api/jobs/{annotation}/validation_layout"
    assert errors(admin.patch(url, json={"frame_selection_method": "random_uniform"})) == [
        "Honeypots can only be modified if the task validation mode is 'gt_pool'"]
    assert errors(admin.patch(url, json={})) == {
        "frame_selection_method": ["This field is required."]}
    assert errors(admin.patch(url, json={"frame_selection_method": "manual"})) == {
        "non_field_errors": ['The "honeypot_real_frames" field is required']}
    assert errors(admin.patch(url, json={"frame_selection_method": "random_uniform",
                                         "honeypot_real_frames": [1]})) == {"non_field_errors": [
        '"honeypot_real_frames" can only be used when "frame_selection_method" is "manual"']}
    assert errors(admin.patch(url, json={"frame_selection_method": "random_per_job"})) == {
        "frame_selection_method": ['"random_per_job" is not a valid choice.']}
    assert admin.get("/api/jobs/999999/validation_layout").status_code == 404


def test_layout_permissions(cvat_server, cvat_client, image_files, alice):
    task = make_task(cvat_client, image_files)
    assert alice.get(f"/api/tasks/{task.id}/validation_layout").status_code == 403
    assert alice.post("/api/jobs", json={
        "type": "ground_truth", "task_id": task.id, "frame_selection_method": "manual",
        "frames": [1]}).status_code == 403


def test_the_deprecated_seed_of_2_26(mockcvat_server_old):
    """Until 2.44 ``seed`` is the deprecated alias of ``random_seed`` whose draw never takes
    the last frame."""
    from tests.conftest import token_client
    from tests.test_hardening import png

    with token_client(mockcvat_server_old, *mockcvat_server_old.admin_credentials) as admin:
        task = admin.post("/api/tasks", json={"name": "gt", "labels": LABELS}).json()
        files = [(f"client_files[{i}]", (f"{i}.png", png((i * 20, 0, 0)), "image/png"))
                 for i in range(SIZE)]
        admin.post(f"/api/tasks/{task['id']}/data/", data={"image_quality": "70"}, files=files)
        for seed in range(5):
            job = admin.post("/api/jobs", json={
                "type": "ground_truth", "task_id": task["id"],
                "frame_selection_method": "random_uniform", "frame_count": SIZE - 1,
                "seed": seed})
            assert job.status_code == 201, job.text
            frames = admin.get(f"/api/tasks/{task['id']}/validation_layout").json()
            assert SIZE - 1 not in frames["validation_frames"]
            admin.delete(f"/api/jobs/{job.json()['id']}")
