"""Review issues and comments through the real cvat-sdk 2.80 (high- and low-level APIs), and
raw HTTP for CVAT's 400s, 404s and the cascades (``IssueViewSet``, ``CommentViewSet``,
``IssueWriteSerializer``, ``CommentWriteSerializer`` in ``cvat/apps/engine``)."""

from __future__ import annotations

import io
import json

import pytest
from cvat_sdk.api_client import models
from cvat_sdk.api_client.exceptions import ApiException
from PIL import Image

from tests.conftest import STRONG_PASSWORD, token_client

SQUARE = [10.0, 10.0, 50.0, 10.0, 50.0, 50.0, 10.0, 50.0]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (10, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def make_task(admin, images: int = 2, **fields) -> tuple[int, list[int]]:
    """A task with ``images`` frames, one job per frame: (task id, job ids)."""
    task = admin.post("/api/tasks", json={"name": "review", "segment_size": 1,
                                          "labels": [{"name": "car"}], **fields})
    assert task.status_code == 201, task.text
    task_id = task.json()["id"]
    files = {f"client_files[{i}]": (f"{i}.png", _png(), "image/png") for i in range(images)}
    response = admin.post(f"/api/tasks/{task_id}/data/", files=files,
                          data={"image_quality": "70"})
    assert response.status_code == 202, response.text
    jobs = admin.get("/api/jobs", params={"task_id": task_id, "sort": "id"}).json()["results"]
    return task_id, [job["id"] for job in jobs]


@pytest.fixture
def job_ids(admin) -> list[int]:
    return make_task(admin)[1]


def test_sdk_issue_lifecycle(cvat_client, job_ids):
    """Create with a comment, list, resolve, reopen, reassign, comment, delete."""
    job = cvat_client.jobs.retrieve(job_ids[0])
    issue = cvat_client.issues.create(models.IssueWriteRequest(
        frame=0, position=SQUARE, job=job.id, message="the car is not labelled"))
    assert (issue.frame, issue.position, issue.job, issue.resolved) == (0, SQUARE, job.id, False)
    assert issue.owner.username == "admin" and issue.assignee is None
    assert issue.comments.count == 1
    assert issue.comments.url.endswith(f"/api/comments?issue_id={issue.id}")

    (first,) = issue.get_comments()
    assert (first.message, first.issue, first.owner.username) == (
        "the car is not labelled", issue.id, "admin")

    assert [i.id for i in job.get_issues()] == [issue.id]
    assert [i.id for i in cvat_client.issues.list()] == [issue.id]
    assert [c.id for c in cvat_client.comments.list()] == [first.id]
    job = cvat_client.jobs.retrieve(job.id)
    assert job.issues.count == 1 and job.issues.url.endswith(f"/api/issues?job_id={job.id}")

    issue.update(models.PatchedIssueWriteRequest(resolved=True))
    assert cvat_client.issues.retrieve(issue.id).resolved is True
    issue.update(models.PatchedIssueWriteRequest(resolved=False, position=[1.5, 2, 3, 4]))
    again = cvat_client.issues.retrieve(issue.id)
    assert again.resolved is False and again.position == [1.5, 2.0, 3.0, 4.0]
    assert again.updated_date >= again.created_date

    reply = cvat_client.comments.create(models.CommentWriteRequest(issue=issue.id,
                                                                   message="fixed"))
    reply.update(models.PatchedCommentWriteRequest(message="fixed now"))
    assert cvat_client.comments.retrieve(reply.id).message == "fixed now"
    assert [c.message for c in issue.get_comments()] == ["fixed now", "the car is not labelled"]
    assert cvat_client.issues.retrieve(issue.id).comments.count == 2
    reply.remove()
    assert [c.id for c in issue.get_comments()] == [first.id]

    issue.remove()
    assert job.get_issues() == []
    with pytest.raises(ApiException) as caught:
        cvat_client.comments.retrieve(first.id)
    assert caught.value.status == 404


def test_list_filters_search_and_sort(admin, job_ids):
    j1, j2 = job_ids
    admin_id = admin.get("/api/users/self").json()["id"]
    made = [admin.post("/api/issues", json={
        "frame": frame, "position": SQUARE, "job": job, "message": "m", **extra}).json()
        for frame, job, extra in ((0, j1, {}), (1, j2, {"resolved": True}),
                                  (0, j2, {"assignee": admin_id}))]
    ids = [i["id"] for i in made]

    def listed(**params):
        response = admin.get("/api/issues", params=params)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["results"]]

    assert listed() == ids[::-1]  # newest first
    assert listed(job_id=j2) == [ids[2], ids[1]]
    assert listed(resolved="true") == [ids[1]]
    assert listed(resolved="false") == [ids[2], ids[0]]
    assert listed(frame_id=0, sort="id") == [ids[0], ids[2]]
    assert listed(assignee="admin") == [ids[2]]
    assert listed(owner="admin", sort="-frame_id,id") == [ids[1], ids[0], ids[2]]
    rule = {"and": [{"==": [{"var": "job_id"}, j2]}, {"==": [{"var": "resolved"}, False]}]}
    assert listed(filter=json.dumps(rule)) == [ids[2]]
    task_id = admin.get(f"/api/jobs/{j1}").json()["task_id"]
    assert listed(task_id=task_id) == ids[::-1]
    assert listed(search="nobody") == []
    assert admin.get("/api/issues", params={"job_id": "x"}).json() == {
        "job_id": ["Enter a number."]}

    comments = admin.get("/api/comments", params={"job_id": j2, "sort": "id"}).json()
    assert [c["issue"] for c in comments["results"]] == [ids[1], ids[2]]
    assert admin.get("/api/comments", params={"frame_id": 1}).json()["count"] == 1
    assert admin.get("/api/comments", params={"issue_id": ids[0]}).json()["count"] == 1
    assert admin.get("/api/comments", params={"search": "admin"}).json()["count"] == 3


@pytest.mark.parametrize(("body", "errors"), [
    ({"frame": -1}, {"frame": ["Ensure this value is greater than or equal to 0."]}),
    ({"frame": 2**31}, {"frame": ["Ensure this value is less than or equal to 2147483647."]}),
    ({"position": []}, {"position": ["This list may not be empty."]}),
    ({"position": "1,2"}, {"position": ['Expected a list of items but got type "str".']}),
    ({"position": [1, "x", None]}, {"position": {"1": ["A valid number is required."],
                                                 "2": ["This field may not be null."]}}),
    ({"position": ["NaN"]}, {"position": {"0": ["A valid number is required."]}}),
    ({"message": "  "}, {"message": ["This field may not be blank."]}),
    ({"message": None}, {"message": ["This field may not be null."]}),
    ({"resolved": "maybe"}, {"resolved": ["Must be a valid boolean."]}),
    ({"assignee": 999}, {"assignee": ['Invalid pk "999" - object does not exist.']}),
    ({"assignee": "me"}, {"assignee": ["Incorrect type. Expected pk value, received str."]}),
])
def test_bad_issue_bodies_are_refused_and_change_nothing(admin, job_ids, body, errors):
    good = {"frame": 0, "position": SQUARE, "job": job_ids[0], "message": "m"}
    response = admin.post("/api/issues", json={**good, **body})
    assert (response.status_code, response.json()) == (400, errors)
    assert admin.get("/api/issues").json()["count"] == 0
    assert admin.get("/api/comments").json()["count"] == 0


def test_required_fields_and_the_job_lookup(admin, job_ids):
    # CVAT looks the job up (in its permission class) before validating anything else
    assert admin.post("/api/issues", json={}).json() == ["Job matching query does not exist."]
    assert admin.post("/api/issues", json={"job": 10**6}).json() == [
        "Job matching query does not exist."]
    response = admin.post("/api/issues", json={"job": job_ids[0]})
    assert response.status_code == 400
    assert response.json() == {name: ["This field is required."]
                               for name in ("frame", "position", "message")}
    assert admin.post("/api/issues", json=[1]).json() == {"non_field_errors": [
        "Invalid data. Expected a dictionary, but got list."]}
    assert admin.post("/api/comments", json={"message": "m"}).json() == [
        "Issue matching query does not exist."]


def test_frame_is_not_checked_against_the_job(admin, job_ids):
    """CVAT does not check an issue's frame against the job's range; neither does mockcvat."""
    response = admin.post("/api/issues", json={
        "frame": 500, "position": [0, 0], "job": job_ids[0], "message": "far away"})
    assert response.status_code == 201, response.text
    assert response.json()["frame"] == 500


def test_write_once_fields_are_ignored_on_patch(admin, job_ids):
    issue = admin.post("/api/issues", json={"frame": 0, "position": SQUARE, "job": job_ids[0],
                                            "message": "m"}).json()
    response = admin.patch(f"/api/issues/{issue['id']}", json={
        "frame": 7, "job": job_ids[1], "message": "other"})
    assert response.status_code == 200, response.text
    assert (response.json()["frame"], response.json()["job"]) == (0, job_ids[0])
    comment_id = admin.get("/api/comments").json()["results"][0]["id"]
    response = admin.patch(f"/api/comments/{comment_id}", json={"issue": 999, "message": ""})
    assert response.json() == {"message": ["This field may not be blank."]}
    # a comment created without a message has an empty one (the model's default)
    bare = admin.post("/api/comments", json={"issue": issue["id"]})
    assert bare.status_code == 201 and bare.json()["message"] == ""


def test_unknown_ids_are_404(admin):
    for path in ("/api/issues/999", "/api/comments/999"):
        assert admin.get(path).status_code == 404
        assert admin.patch(path, json={}).status_code == 404
        assert admin.delete(path).status_code == 404
    assert admin.get("/api/issues/999").json() == {"detail": "No Issue matches the given query."}
    assert admin.get("/api/comments/x").json() == {"detail": "Not found."}


def test_deleting_a_task_deletes_its_issues_and_comments(admin):
    task_id, jobs = make_task(admin)
    for job in jobs:
        admin.post("/api/issues", json={"frame": 0, "position": [1, 2], "job": job,
                                        "message": "m"})
    assert admin.get("/api/comments").json()["count"] == 2
    assert admin.delete(f"/api/tasks/{task_id}").status_code == 204
    assert admin.get("/api/issues").json()["count"] == 0
    assert admin.get("/api/comments").json()["count"] == 0


def test_deleting_a_project_deletes_its_issues(admin):
    project = admin.post("/api/projects", json={"name": "p", "labels": [{"name": "a"}]}).json()
    _, jobs = make_task(admin, project_id=project["id"], labels=[])
    admin.post("/api/issues", json={"frame": 0, "position": [1, 2], "job": jobs[0],
                                    "message": "m"})
    assert admin.delete(f"/api/projects/{project['id']}").status_code == 204
    assert admin.get("/api/issues").json()["count"] == 0
    assert admin.get("/api/comments").json()["count"] == 0


def test_deleting_the_ground_truth_job_deletes_its_issues(admin):
    task_id, _ = make_task(admin, images=3)
    gt = admin.post("/api/jobs", json={"task_id": task_id, "type": "ground_truth",
                                       "frame_selection_method": "manual", "frames": [1]})
    assert gt.status_code == 201, gt.text
    admin.post("/api/issues", json={"frame": 1, "position": [1, 2], "job": gt.json()["id"],
                                    "message": "m"})
    assert admin.delete(f"/api/jobs/{gt.json()['id']}").status_code == 204
    assert admin.get("/api/issues").json()["count"] == 0


def test_a_deleted_author_leaves_the_issue_without_owner(cvat_server, admin, job_ids):
    user = cvat_server.create_user("rita", STRONG_PASSWORD)
    admin.patch(f"/api/jobs/{job_ids[0]}", json={"assignee": user["id"]})
    with token_client(cvat_server, "rita", STRONG_PASSWORD) as rita:
        issue = rita.post("/api/issues", json={"frame": 0, "position": [1, 2],
                                               "job": job_ids[0], "message": "m"})
        assert issue.status_code == 201, issue.text
    assert admin.delete(f"/api/users/{user['id']}").status_code == 204
    kept = admin.get(f"/api/issues/{issue.json()['id']}").json()
    assert kept["owner"] is None and kept["comments"]["count"] == 1
    (comment,) = admin.get("/api/comments").json()["results"]
    assert comment["owner"] is None
