"""Quality control through cvat-sdk 2.80 (and raw HTTP for the edges): a task with a GT job,
annotated with known differences, its report computed in the background and checked against
hand-computed numbers; settings changed and the report recomputed."""

from __future__ import annotations

import pytest
from cvat_sdk import models
from cvat_sdk.api_client.exceptions import ApiException

from tests.media_files import make_image

LABELS = [{"name": "car"}, {"name": "tree"}]


def rect(frame, label_id, points):
    return models.LabeledShapeRequest(type="rectangle", frame=frame, label_id=label_id,
                                      points=points)


@pytest.fixture
def qc_task(cvat_client, tmp_path):
    """4 frames of 100x100, jobs of 2 frames, GT on frames 0 and 2, annotated:

    GT   f0: car [0,0,10,10]          f2: car [50,50,60,60], tag tree
    job1 f0: car [0,0,10,5] (IoU 0.5) f1: car (not a GT frame)
    job2                              f2: car [80,80,90,90] (extra; GT car missing), tag tree
    """
    files = [make_image(tmp_path / f"{i}.png", (100, 100)) for i in range(4)]
    task = cvat_client.tasks.create_from_data(
        spec=models.TaskWriteRequest(name="qc", labels=LABELS, segment_size=2),
        resources=files)
    labels = {label.name: label.id for label in task.get_labels()}
    car, tree = labels["car"], labels["tree"]
    gt, _ = cvat_client.api_client.jobs_api.create(models.JobWriteRequest(
        type="ground_truth", task_id=task.id, frame_selection_method="manual", frames=[0, 2]))
    jobs = sorted((j for j in task.get_jobs() if j.type == "annotation"),
                  key=lambda j: j.start_frame)
    cvat_client.jobs.retrieve(gt.id).set_annotations(models.LabeledDataRequest(
        shapes=[rect(0, car, [0, 0, 10, 10]), rect(2, car, [50, 50, 60, 60])],
        tags=[models.LabeledImageRequest(frame=2, label_id=tree)]))
    cvat_client.jobs.retrieve(jobs[0].id).set_annotations(models.LabeledDataRequest(
        shapes=[rect(0, car, [0, 0, 10, 5]), rect(1, car, [1, 1, 5, 5])]))
    cvat_client.jobs.retrieve(jobs[1].id).set_annotations(models.LabeledDataRequest(
        shapes=[rect(2, car, [80, 80, 90, 90])],
        tags=[models.LabeledImageRequest(frame=2, label_id=tree)]))
    cvat_client.api_client.jobs_api.partial_update(gt.id, patched_job_write_request=(
        models.PatchedJobWriteRequest(stage="acceptance", state="completed")))
    return task, gt.id, [j.id for j in jobs]


def compute_report(client, task_id):
    api = client.api_client
    rq, response = api.quality_api.create_report(
        quality_report_create_request=models.QualityReportCreateRequest(task_id=task_id),
        _parse_response=False)
    assert response.status == 202
    rq_id = __import__("json").loads(response.data)["rq_id"]
    request, _ = api.requests_api.retrieve(rq_id)
    assert str(request.status) == "finished", request.message
    assert request.operation.type == "calculate:quality"
    report, _ = api.quality_api.retrieve_report(request.result_id)
    return report


def test_report_matches_hand_computed_numbers(cvat_client, qc_task):
    task, gt_id, job_ids = qc_task
    report = compute_report(cvat_client, task.id)
    assert str(report.target) == "task" and report.task_id == task.id
    summary = report.summary
    assert (summary.total_frames, summary.validation_frames) == (4, 2)
    assert summary.validation_frame_share == 0.5
    assert summary.conflict_count == 2 and summary.error_count == 2
    assert summary.conflicts_by_type == {"missing_annotation": 1, "extra_annotation": 1}
    assert summary.jobs.total == 2 and summary.jobs.included == 2

    data = cvat_client.api_client.quality_api.retrieve_report_data(
        report.id, _parse_response=False)[1]
    annotations = __import__("json").loads(data.data)["comparison_summary"]["annotations"]
    assert (annotations["valid_count"], annotations["total_count"]) == (2, 4)
    assert (annotations["ds_count"], annotations["gt_count"]) == (3, 3)
    assert annotations["accuracy"] == 0.5
    assert annotations["precision"] == pytest.approx(2 / 3)

    reports = cvat_client.api_client.quality_api.list_reports(parent_id=report.id)[0].results
    by_job = {r.job_id: r.summary for r in reports}
    assert set(by_job) == set(job_ids)
    assert by_job[job_ids[0]].conflict_count == 0
    assert by_job[job_ids[1]].conflict_count == 2

    conflicts = cvat_client.api_client.quality_api.list_conflicts(report_id=report.id)[0]
    assert conflicts.count == 2
    missing = next(c for c in conflicts.results if str(c.type) == "missing_annotation")
    assert missing.frame == 2 and missing.annotation_ids[0].job_id == gt_id
    assert str(missing.severity) == "error"

    settings = cvat_client.api_client.quality_api.list_settings(task_id=task.id)[0].results[0]
    boxes = next(r for r in settings.requirements if r.name == "Base rectangle")
    matrix, _ = cvat_client.api_client.quality_api.retrieve_report_requirement_confusion(
        report.id, boxes.id)
    assert matrix.labels == ["car", "tree", "unmatched"]
    assert matrix.rows == [[1, 0, 1], [0, 0, 0], [1, 0, 0]]  # rectangles only
    assert matrix.target_metric_summary.values.micro == pytest.approx(1 / 3)


def test_settings_change_and_recompute(cvat_client, qc_task):
    task, _, _ = qc_task
    api = cvat_client.api_client.quality_api
    settings = api.list_settings(task_id=task.id)[0].results[0]
    base = next(r for r in settings.requirements if r.name == "Base rectangle")
    assert base.is_base and base.iou_threshold == 0.4
    api.partial_update_settings_requirements(
        base.id, patched_quality_requirement_request=models.PatchedQualityRequirementRequest(
            iou_threshold=0.6))
    report = compute_report(cvat_client, task.id)
    # the f0 boxes (IoU 0.5) no longer match: one missing and one extra more
    assert report.summary.conflicts_by_type == {"missing_annotation": 2,
                                                "extra_annotation": 2}


def test_requirement_scores(cvat_client, qc_task):
    task, _, _ = qc_task
    api = cvat_client.api_client.quality_api
    settings = api.list_settings(task_id=task.id)[0].results[0]
    base = next(r for r in settings.requirements if r.name == "Base rectangle")
    created, _ = api.create_settings_requirements(
        quality_requirement_request=models.QualityRequirementRequest(
            settings_id=settings.id, name="Boxes", annotation_type="rectangle",
            metric="precision", required_score=0.5, parent_requirement=base.id))
    assert created.effective["iou_threshold"] == 0.4  # inherited from the base requirement
    summary = compute_report(cvat_client, task.id).summary.requirements
    assert (summary.total, summary.enabled, summary.completed) == (10, 1, 1)
    item = summary.items[0]
    # boxes: f0 matched, f2 one missing and one extra -> precision 1 / 2
    assert (item.name, item.score, item.threshold) == ("Boxes", 0.5, 0.5)
    assert item.score_components.to_dict() == {"valid_count": 1, "missing_count": 1,
                                               "extra_count": 1}
    with pytest.raises(ApiException) as error:
        api.create_settings_requirements(
            quality_requirement_request=models.QualityRequirementRequest(
                settings_id=settings.id, name="Filtered", filter="label == car"))
    assert error.value.status == 400


def test_no_report_without_a_completed_gt_job(cvat_client, tmp_path):
    files = [make_image(tmp_path / "a.png", (20, 20))]
    task = cvat_client.tasks.create_from_data(
        spec=models.TaskWriteRequest(name="no gt", labels=LABELS), resources=files)
    with pytest.raises(ApiException) as error:
        cvat_client.api_client.quality_api.create_report(
            quality_report_create_request=models.QualityReportCreateRequest(task_id=task.id))
    assert error.value.status == 400
    assert "Ground Truth job" in str(error.value.body)


def test_settings_out_of_range(cvat_client, qc_task, admin):
    task, _, _ = qc_task
    settings = admin.get("/api/quality/settings", params={"task_id": task.id}).json()
    requirement = settings["results"][0]["requirements"][0]["id"]
    response = admin.patch(f"/api/quality/settings/requirements/{requirement}",
                           json={"iou_threshold": 1.5})
    assert response.status_code == 400
    assert response.json() == {"iou_threshold": [
        "Ensure this value is less than or equal to 1."]}


# --- CVAT 2.26: flat settings, 2.26 summaries, ?rq_id= polling, warnings --------------------------
def test_cvat_2_26_shapes():
    from mockcvat.testing import MockCVATServer
    from tests.conftest import token_client
    from tests.test_hardening import png

    with MockCVATServer(cvat_version="2.26.2") as server, \
            token_client(server, *server.admin_credentials) as admin:
        task = admin.post("/api/tasks", json={"name": "t", "labels": [{"name": "car"}],
                                              "consensus_replicas": 2}).json()
        files = [(f"client_files[{i}]", (f"{i}.png", png(), "image/png")) for i in range(2)]
        admin.post(f"/api/tasks/{task['id']}/data/", data={"image_quality": "70"}, files=files)
        jobs = admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"]
        assert sorted(j["type"] for j in jobs) == ["annotation", "consensus_replica",
                                                    "consensus_replica"]
        assert admin.get("/api/consensus/settings").status_code == 404  # not in 2.26
        label = admin.get("/api/labels", params={"task_id": task["id"]}).json()["results"][0]
        gt = admin.post("/api/jobs", json={"type": "ground_truth", "task_id": task["id"],
                                           "frame_selection_method": "manual",
                                           "frames": [0]}).json()
        parent = next(j for j in jobs if j["type"] == "annotation")

        def boxes(points):
            return {"shapes": [{"type": "rectangle", "frame": 0, "label_id": label["id"],
                                "points": points}]}

        admin.put(f"/api/jobs/{gt['id']}/annotations/", json=boxes([0, 0, 10, 10]))
        admin.put(f"/api/jobs/{parent['id']}/annotations/", json=boxes([0, 0, 10, 5]))
        admin.patch(f"/api/jobs/{gt['id']}", json={"stage": "acceptance", "state": "completed"})

        settings = admin.get("/api/quality/settings", params={"task_id": task["id"]}).json()
        item = settings["results"][0]
        assert item["iou_threshold"] == 0.4 and item["target_metric"] == "accuracy"
        assert "requirements" not in item
        bad = admin.patch(f"/api/quality/settings/{item['id']}", json={"oks_sigma": 2})
        assert bad.status_code == 400
        assert bad.json() == {"oks_sigma": ["oks_sigma must be in the range [0; 1]"]}

        started = admin.post("/api/quality/reports", json={"task_id": task["id"]})
        assert started.status_code == 202
        rq_id = started.json()["rq_id"]
        assert rq_id == f"quality-check-task-{task['id']}-user-1"
        done = admin.post("/api/quality/reports", params={"rq_id": rq_id})
        assert done.status_code == 201, done.text
        summary = done.json()["summary"]
        assert summary["frame_count"] == 1 and summary["frame_share"] == 0.5
        assert (summary["valid_count"], summary["gt_count"], summary["ds_count"]) == (1, 1, 1)
        assert summary["conflicts_by_type"] == {"low_overlap": 1}
        assert summary["warning_count"] == 1 and summary["error_count"] == 0
        conflicts = admin.get("/api/quality/conflicts",
                              params={"report_id": done.json()["id"]}).json()["results"]
        assert [(c["type"], c["severity"]) for c in conflicts] == [("low_overlap", "warning")]
        assert "attribute_names" not in conflicts[0]
