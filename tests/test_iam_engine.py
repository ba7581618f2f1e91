"""The policy, table-driven: role x action on projects, tasks, jobs and labels -> the status CVAT
answers and, for lists, exactly the rows it shows (``cvat/apps/engine/rules/*.rego``).

The world (built fresh for every case, by the admin, through the API):
* organization ``acme``, owned by olga, with max (maintainer), sue (supervisor), walt, tara and
  jack (workers);
* in acme: project P1 owned by max (label ``car``) with task T1 (owner max, assignee tara; two
  images, one per job): job J1 assigned to jack, job J2 assigned to lena; task T2 owned by sue,
  in no project (labels ``cat``, ``dog``), without data;
* in the personal workspace: paul's project PP (label ``tree``) with task TP (one image, job JP);
* nina owns organization ``other`` (a non-member of acme with an org); paul is a plain user in
  no organization; lena has the ``worker`` privilege and is in no organization (the lone
  assignee of jobs.rego); the admin.

Detail actions are judged in the object's own organization, whatever the request names; only
lists are filtered, so an existing object answers 403, never 404. Every row cites its .rego.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mockcvat import iam
from tests.conftest import STRONG_PASSWORD, token_client
from tests.engine_world import ACME, Action, F, World, case, delete, get, patch, post
from tests.policy_table import Expected, check

#   admin   owner   maint.  superv. worker  non-m.  plain   t-asg.  j-asg.  lone
CASES = [
    # --- projects (projects.rego) ---
    *case("projects-list", get("/api/projects"),
          ((200, 2), (200, 0), (200, 1), (200, 0), (200, 0), (200, 0), (200, 1), (200, 0),
           (200, 0), (200, 0))),
    *case("projects-list-in-acme", get("/api/projects", ACME),
          ((200, 1), (200, 1), (200, 1), (200, 0), (200, 0), F, F, (200, 0), (200, 0), F)),
    *case("projects-list-personal", get("/api/projects?org="),
          ((200, 1), (200, 0), (200, 0), (200, 0), (200, 0), (200, 0), (200, 1), (200, 0),
           (200, 0), (200, 0))),
    *case("projects-view", get("/api/projects/{p1}"),
          (200, 200, 200, F, F, F, F, F, F, F)),
    *case("projects-view-sandbox-in-acme", get("/api/projects/{pp}", ACME),
          (200, F, F, F, F, F, 200, F, F, F)),
    *case("projects-rename", patch("/api/projects/{p1}", {"name": "new"}),
          (200, 200, 200, F, F, F, F, F, F, F)),
    *case("projects-rename-sandbox", patch("/api/projects/{pp}", {"name": "new"}),
          (200, F, F, F, F, F, 200, F, F, F)),
    *case("projects-change-owner", patch("/api/projects/{p1}", lambda n: {"owner_id": n["u_sue"]}),
          (200, 200, 200, F, F, F, F, F, F, F)),
    *case("projects-change-assignee",
          patch("/api/projects/{p1}", lambda n: {"assignee_id": n["u_walt"]}),
          (200, 200, 200, F, F, F, F, F, F, F)),
    *case("projects-self-assign-sandbox",
          patch("/api/projects/{pp}", lambda n: {"assignee_id": n["u_paul"]}),
          (200, F, F, F, F, F, 200, F, F, F)),
    *case("projects-assign-other-sandbox",
          patch("/api/projects/{pp}", lambda n: {"assignee_id": n["u_nina"]}),
          (200, F, F, F, F, F, F, F, F, F)),
    *case("projects-change-owner-sandbox",
          patch("/api/projects/{pp}", lambda n: {"owner_id": n["u_paul"]}),
          (200, F, F, F, F, F, F, F, F, F)),
    *case("projects-delete", delete("/api/projects/{p1}"),
          (204, 204, 204, F, F, F, F, F, F, F)),
    *case("projects-create-in-acme", post("/api/projects", {"name": "n"}, ACME),
          (201, 201, 201, 201, F, F, F, F, F, F)),
    *case("projects-create-sandbox", post("/api/projects", {"name": "n"}),
          (201, 201, 201, 201, 201, 201, 201, 201, 201, F)),
    # --- tasks (tasks.rego) ---
    *case("tasks-list", get("/api/tasks"),
          ((200, 3), (200, 0), (200, 1), (200, 1), (200, 0), (200, 0), (200, 1), (200, 1),
           (200, 0), (200, 0))),
    *case("tasks-list-in-acme", get("/api/tasks", ACME),
          ((200, 2), (200, 2), (200, 2), (200, 1), (200, 0), F, F, (200, 1), (200, 0), F)),
    *case("tasks-view", get("/api/tasks/{t1}"),
          (200, 200, 200, F, F, F, F, 200, F, F)),
    *case("tasks-view-sandbox-in-acme", get("/api/tasks/{tp}", ACME),
          (200, F, F, F, F, F, 200, F, F, F)),
    *case("tasks-data-meta", get("/api/tasks/{t1}/data/meta"),
          (200, 200, 200, F, F, F, F, 200, F, F)),
    *case("tasks-rename", patch("/api/tasks/{t1}", {"name": "new"}),
          (200, 200, 200, F, F, F, F, 200, F, F)),
    *case("tasks-rename-own", patch("/api/tasks/{t2}", {"name": "new"}),
          (200, 200, 200, 200, F, F, F, F, F, F)),
    *case("tasks-change-assignee", patch("/api/tasks/{t1}", lambda n: {"assignee_id": n["u_walt"]}),
          (200, 200, 200, F, F, F, F, F, F, F)),
    *case("tasks-change-owner", patch("/api/tasks/{t2}", lambda n: {"owner_id": n["u_walt"]}),
          (200, 200, 200, 200, F, F, F, F, F, F)),
    *case("tasks-delete", delete("/api/tasks/{t1}"),
          (204, 204, 204, F, F, F, F, F, F, F)),
    *case("tasks-delete-own", delete("/api/tasks/{t2}"),
          (204, 204, 204, 204, F, F, F, F, F, F)),
    *case("tasks-create-in-acme", post("/api/tasks", {"name": "n", "labels": [{"name": "a"}]},
                                       ACME),
          (201, 201, 201, 201, F, F, F, F, F, F)),
    *case("tasks-create-sandbox", post("/api/tasks", {"name": "n", "labels": [{"name": "a"}]}),
          (201, 201, 201, 201, 201, 201, 201, 201, 201, F)),
    # create@project also needs view of the project, in the request's context
    *case("tasks-create-in-project", post("/api/tasks", lambda n: {
        "name": "n", "project_id": n["p1"]}, ACME),
          (201, 201, 201, F, F, F, F, F, F, F)),
    *case("tasks-create-in-project-no-org", post("/api/tasks", lambda n: {
        "name": "n", "project_id": n["p1"]}),
          (400, F, 400, F, F, F, F, F, F, F)),
    *case("tasks-create-in-sandbox-project", post("/api/tasks", lambda n: {
        "name": "n", "project_id": n["pp"]}),
          (201, F, F, F, F, F, 201, F, F, F)),
    *case("tasks-create-in-sandbox-project-in-acme", post("/api/tasks", lambda n: {
        "name": "n", "project_id": n["pp"]}, ACME),
          (400, F, F, F, F, F, F, F, F, F)),
    # --- jobs (jobs.rego) ---
    *case("jobs-list", get("/api/jobs"),
          ((200, 3), (200, 0), (200, 2), (200, 0), (200, 0), (200, 0), (200, 1), (200, 2),
           (200, 1), (200, 1))),
    *case("jobs-list-in-acme", get("/api/jobs", ACME),
          ((200, 2), (200, 2), (200, 2), (200, 0), (200, 0), F, F, (200, 2), (200, 1), F)),
    *case("jobs-view", get("/api/jobs/{j2}"),
          (200, 200, 200, F, F, F, F, 200, F, 200)),
    *case("jobs-view-own", get("/api/jobs/{j1}"),
          (200, 200, 200, F, F, F, F, 200, 200, F)),
    *case("jobs-data-meta", get("/api/jobs/{j2}/data/meta"),
          (200, 200, 200, F, F, F, F, 200, F, 200)),
    *case("jobs-state", patch("/api/jobs/{j2}", {"state": "completed"}),
          (200, 200, 200, F, F, F, F, 200, F, 200)),
    *case("jobs-state-own", patch("/api/jobs/{j1}", {"state": "in progress"}),
          (200, 200, 200, F, F, F, F, 200, 200, F)),
    *case("jobs-stage", patch("/api/jobs/{j2}", {"stage": "validation"}),
          (200, 200, 200, F, F, F, F, 200, F, F)),
    *case("jobs-assignee", patch("/api/jobs/{j1}", lambda n: {"assignee": n["u_walt"]}),
          (200, 200, 200, F, F, F, F, 200, F, F)),
    *case("jobs-delete-annotation-job", delete("/api/jobs/{j1}"),
          (400, 400, 400, F, F, F, F, F, F, F)),
    *case("jobs-view-sandbox", get("/api/jobs/{jp}", ACME),
          (200, F, F, F, F, F, 200, F, F, F)),
    # --- labels (labels.rego; detail actions: the owning project's or task's rules) ---
    *case("labels-list", get("/api/labels"),
          ((200, 4), (200, 0), (200, 1), (200, 2), (200, 0), (200, 0), (200, 1), (200, 0),
           (200, 0), (200, 0))),
    *case("labels-list-in-acme", get("/api/labels", ACME),
          ((200, 3), (200, 3), (200, 3), (200, 2), (200, 0), F, F, (200, 0), (200, 0), F)),
    *case("labels-of-task", get("/api/labels?task_id={t1}"),
          ((200, 1), (200, 1), (200, 1), F, F, F, F, (200, 1), F, F)),
    *case("labels-of-job", get("/api/labels?job_id={j2}"),
          ((200, 1), (200, 1), (200, 1), F, F, F, F, (200, 1), F, (200, 1))),
    *case("labels-of-job-in-acme", get("/api/labels?job_id={j1}", ACME),
          ((200, 1), (200, 1), (200, 1), F, F, F, F, (200, 1), (200, 1), F)),
    *case("labels-of-project-in-acme", get("/api/labels?project_id={p1}", ACME),
          ((200, 1), (200, 1), (200, 1), F, F, F, F, F, F, F)),
    *case("labels-of-sandbox-task-in-acme", get("/api/labels?task_id={tp}", ACME),
          ((200, 0), F, F, F, F, F, F, F, F, F)),
    *case("labels-view", get("/api/labels/{l_cat}"),
          (200, 200, 200, 200, F, F, F, F, F, F)),
    *case("labels-rename-project-label", patch("/api/labels/{l_car}", {"name": "auto"}),
          (200, 200, 200, F, F, F, F, F, F, F)),
    *case("labels-rename-task-label", patch("/api/labels/{l_cat}", {"name": "kitten"}),
          (200, 200, 200, 200, F, F, F, F, F, F)),
    *case("labels-delete", delete("/api/labels/{l_dog}"),
          (204, 204, 204, 204, F, F, F, F, F, F)),
    # --- quality control (quality_settings.rego, quality_reports.rego, conflicts.rego) ---
    *case("quality-settings-list", get("/api/quality/settings?parent_type=task"),
          ((200, 3), (200, 0), (200, 1), (200, 1), (200, 0), (200, 0), (200, 1), (200, 1),
           (200, 0), (200, 0))),
    *case("quality-settings-list-in-acme", get("/api/quality/settings?parent_type=task", ACME),
          ((200, 2), (200, 2), (200, 2), (200, 1), (200, 0), F, F, (200, 1), (200, 0), F)),
    *case("quality-settings-view", get("/api/quality/settings/{qs_t1}"),
          (200, 200, 200, F, F, F, F, 200, F, F)),
    *case("quality-settings-update", patch("/api/quality/settings/{qs_t1}",
                                           {"max_validations_per_job": 1}),
          (200, 200, 200, F, F, F, F, 200, F, F)),
    # allowed callers reach the precondition (T1 has no GT job: 400)
    *case("quality-reports-create", post("/api/quality/reports", lambda n: {"task_id": n["t1"]}),
          (400, 400, 400, F, F, F, F, 400, F, F)),
    *case("quality-reports-list-in-acme", get("/api/quality/reports", ACME),
          ((200, 0), (200, 0), (200, 0), (200, 0), (200, 0), F, F, (200, 0), (200, 0), F)),
    *case("quality-conflicts-list-in-acme", get("/api/quality/conflicts", ACME),
          ((200, 0), (200, 0), (200, 0), (200, 0), (200, 0), F, F, (200, 0), (200, 0), F)),
    # --- consensus (consensus_settings.rego, consensus_merges.rego): T1 has no replicas ---
    *case("consensus-merge", post("/api/consensus/merges", lambda n: {"task_id": n["t1"]}),
          (400, 400, 400, F, F, F, F, 400, F, F)),
]


@pytest.mark.parametrize(("action", "role", "expected"), CASES)
def test_policy(world: World, action: Action, role: str, expected: Expected) -> None:
    with world.client(role) as client:
        check(action(client, world), expected)


# --- rules the world above cannot show through the API -----------------------------------------
def _policy(privilege: str) -> iam.EnginePolicy:
    identity = SimpleNamespace(privilege=privilege, user=SimpleNamespace(id=1))
    return iam.EnginePolicy(SimpleNamespace(identity=identity, user=identity.user))  # type: ignore[arg-type]


def test_lone_assignee_cannot_export() -> None:
    """jobs.rego: the worker-privilege non-member assignee may view and annotate its job, not
    export it (no exports in that rule)."""
    lone = iam.Standing(organization_id=7, role=None, job_assignee=True)
    policy = _policy("worker")
    assert policy.allow_job("view", lone) and policy.allow_job("update:annotations", lone)
    assert not policy.allow_job("export:dataset", lone)
    assert not policy.allow_job("export:annotations", lone)
    assert not policy.allow_job("update:stage", lone)
    # with the user privilege, an outsider assignee gets nothing
    assert not _policy("user").allow_job("view", lone)


def test_worker_privilege_staff_may_give_away_own_project() -> None:
    """projects.rego: update:owner for org staff with worker privilege who own the project."""
    owner = iam.Standing(organization_id=7, role="maintainer", project_owner=True)
    policy = _policy("worker")
    assert policy.allow_project("update:owner", owner)
    assert not policy.allow_project("update:owner", iam.Standing(organization_id=7,
                                                                 role="maintainer"))
    assert not policy.allow_project("update:owner", iam.Standing(
        organization_id=7, role="supervisor", project_owner=True))
    assert not policy.allow_project("update:owner", iam.Standing(
        organization_id=None, project_owner=True))


def test_worker_privilege_cannot_create(world: World) -> None:
    """projects.rego, tasks.rego: create needs the ``user`` privilege, even for org staff."""
    world.server.create_user("wanda", STRONG_PASSWORD, groups=["worker"])
    world.server.create_organization("wands", "wanda")
    with token_client(world.server, "wanda", STRONG_PASSWORD) as wanda:
        headers = {"X-Organization": "wands"}
        assert wanda.post("/api/projects", json={"name": "p"}, headers=headers).status_code == 403
        assert wanda.post("/api/tasks", headers=headers, json={
            "name": "t", "labels": [{"name": "a"}]}).status_code == 403
