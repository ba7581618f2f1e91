"""The policy, table-driven: role x action on issues, comments, annotation guides and their
assets -> the status CVAT answers and, for lists, exactly the rows it shows
(``cvat/apps/engine/rules/{issues,comments,annotationguides}.rego``).

The world is ``tests/engine_world.py``'s (its docstring lists who owns, is assigned to and
wrote what). Detail actions are judged in the object's own organization; creating an issue, a
comment, a guide or an asset is judged in the *request's* org context: without one, the
object's staff may (wherever the object is), in the object's organization its maintainers and
its staff who are members may, in any other organization nobody but the admin.
"""

from __future__ import annotations

import pytest

from tests.engine_world import ACME, PNG, Action, World, case, delete, get, patch, post, upload
from tests.policy_table import Expected, check

F = 403
NEW_ISSUE = {"frame": 0, "position": [0, 0, 2, 2], "message": "new"}


def issue_on(job: str) -> object:
    return lambda n: {**NEW_ISSUE, "job": n[job]}


PICTURE = {"file": ("b.png", PNG, "image/png")}

#   admin   owner   maint.  superv. worker  non-m.  plain   t-asg.  j-asg.  lone
CASES = [
    # --- issues (issues.rego) ---
    *case("issues-list", get("/api/issues"),
          ((200, 3), (200, 0), (200, 2), (200, 0), (200, 1), (200, 0), (200, 1), (200, 2),
           (200, 1), (200, 1))),
    *case("issues-list-in-acme", get("/api/issues", ACME),
          ((200, 2), (200, 2), (200, 2), (200, 0), (200, 1), F, F, (200, 2), (200, 1), F)),
    *case("issues-list-personal", get("/api/issues?org="),
          ((200, 1), (200, 0), (200, 0), (200, 0), (200, 0), (200, 0), (200, 1), (200, 0),
           (200, 0), (200, 0))),
    *case("issues-view", get("/api/issues/{i1}"),
          (200, 200, 200, F, 200, F, F, 200, 200, F)),
    # the lone assignee of J2 is no member of acme: the issue rules need membership
    *case("issues-view-on-lone-job", get("/api/issues/{i2}"),
          (200, 200, 200, F, F, F, F, 200, F, F)),
    *case("issues-view-sandbox", get("/api/issues/{ip}", ACME),
          (200, F, F, F, F, F, 200, F, F, F)),
    *case("issues-resolve", patch("/api/issues/{i1}", {"resolved": True}),
          (200, 200, 200, F, 200, F, F, 200, 200, F)),
    *case("issues-assign-other-sandbox", patch("/api/issues/{ip}", lambda n: {
        "assignee": n["u_nina"]}),
          (200, F, F, F, F, F, F, F, F, F)),
    *case("issues-assign-self-sandbox", patch("/api/issues/{ip}", lambda n: {
        "assignee": n["u_paul"]}),
          (200, F, F, F, F, F, 200, F, F, F)),
    # delete: the task's staff and the issue's owner, not its assignee
    *case("issues-delete", delete("/api/issues/{i1}"),
          (204, 204, 204, F, F, F, F, 204, 204, F)),
    *case("issues-create-in-acme", post("/api/issues", issue_on("j1"), ACME),
          (201, 201, 201, F, F, F, F, 201, 201, F)),
    *case("issues-create-no-org", post("/api/issues", issue_on("j1")),
          (201, F, 201, F, F, F, F, 201, 201, F)),
    # without an org context the job's staff may, even the lone assignee
    *case("issues-create-on-lone-job-no-org", post("/api/issues", issue_on("j2")),
          (201, F, 201, F, F, F, F, 201, F, 201)),
    *case("issues-create-sandbox", post("/api/issues", issue_on("jp")),
          (201, F, F, F, F, F, 201, F, F, F)),
    *case("issues-create-sandbox-in-acme", post("/api/issues", issue_on("jp"), ACME),
          (201, F, F, F, F, F, F, F, F, F)),
    # naming an assignee needs users.rego view of them in the request's context
    *case("issues-create-assigning-other-no-org", post("/api/issues", lambda n: {
        **NEW_ISSUE, "job": n["jp"], "assignee": n["u_nina"]}),
          (201, F, F, F, F, F, F, F, F, F)),
    # --- comments (comments.rego) ---
    *case("comments-list", get("/api/comments"),
          ((200, 4), (200, 0), (200, 3), (200, 0), (200, 2), (200, 0), (200, 1), (200, 3),
           (200, 2), (200, 1))),
    *case("comments-list-in-acme", get("/api/comments", ACME),
          ((200, 3), (200, 3), (200, 3), (200, 0), (200, 2), F, F, (200, 3), (200, 2), F)),
    *case("comments-view", get("/api/comments/{c2}"),
          (200, 200, 200, F, 200, F, F, 200, 200, F)),
    *case("comments-edit", patch("/api/comments/{c2}", {"message": "edited"}),
          (200, 200, 200, F, 200, F, F, 200, 200, F)),
    # the issue's staff may delete anyone's comment on it (is_comment_staff)
    *case("comments-delete", delete("/api/comments/{c1}"),
          (204, 204, 204, F, 204, F, F, 204, 204, F)),
    *case("comments-create-in-acme", post("/api/comments", lambda n: {
        "issue": n["i1"], "message": "m"}, ACME),
          (201, 201, 201, F, 201, F, F, 201, 201, F)),
    *case("comments-create-on-lone-job-no-org", post("/api/comments", lambda n: {
        "issue": n["i2"], "message": "m"}),
          (201, F, 201, F, F, F, F, 201, F, 201)),
    # --- guides (annotationguides.rego) ---
    # view: the target's staff, whoever has a task or job in it, the org's maintainers
    *case("guides-view-project", get("/api/guides/{g1}"),
          (200, 200, 200, F, F, F, F, 200, 200, F)),
    *case("guides-view-sandbox", get("/api/guides/{gp}"),
          (200, F, F, F, F, F, 200, F, F, F)),
    *case("guides-edit-project", patch("/api/guides/{g1}", {"markdown": "x"}),
          (200, 200, 200, F, F, F, F, F, F, F)),
    *case("guides-delete-task", delete("/api/guides/{gt2}"),
          (204, 204, 204, 204, F, F, F, F, F, F)),
    *case("guides-create-in-acme", post("/api/guides", lambda n: {"task_id": n["t1"]}, ACME),
          (201, 201, 201, F, F, F, F, 201, F, F)),
    *case("guides-create-no-org", post("/api/guides", lambda n: {"task_id": n["t1"]}),
          (201, F, 201, F, F, F, F, 201, F, F)),
    *case("guides-create-naming-nothing", post("/api/guides", {}),
          (400, F, F, F, F, F, F, F, F, F)),
    # --- assets (their guide's view and update) ---
    *case("assets-view", get("/api/assets/{a1}"),
          (200, 200, 200, F, F, F, F, 200, 200, F)),
    *case("assets-delete", delete("/api/assets/{a1}"),
          (204, 204, 204, F, F, F, F, F, F, F)),
    *case("assets-create-in-acme", upload("/api/assets", {"guide_id": "{g1}"}, PICTURE, ACME),
          (201, 201, 201, F, F, F, F, F, F, F)),
    *case("assets-create-no-org", upload("/api/assets", {"guide_id": "{g1}"}, PICTURE),
          (201, F, 201, F, F, F, F, F, F, F)),
]


@pytest.mark.parametrize(("action", "role", "expected"), CASES)
def test_policy(world: World, action: Action, role: str, expected: Expected) -> None:
    with world.client(role) as client:
        check(action(client, world), expected)
