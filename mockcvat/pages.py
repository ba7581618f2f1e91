"""The two HTML pages: the Swagger UI at ``/api/docs`` (as CVAT's, but with its files served from
the ``fastapi-offline`` package, so it works without the internet) and the state page at
``/_mockcvat/`` (users, organizations, projects, tasks, jobs with annotation counts, background
requests, and the live journal; plain HTML and a little JavaScript, nothing fetched from
elsewhere)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from mockcvat.errors import NotFound

if TYPE_CHECKING:
    from mockcvat.server import MockCVAT

STATIC_PREFIX = "/static/swagger-ui/"
STATIC_FILES = {"swagger-ui-bundle.js": "application/javascript",
                "swagger-ui.css": "text/css", "favicon.png": "image/png"}
STATE_LIMIT = 500  # rows per table on the state page


@cache
def swagger_dir() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


# drf-spectacular's SpectacularSwaggerView page with CVAT's settings. CVAT's schema needs a
# logged-in caller, so its page works once the browser has a CVAT session; mockcvat has no
# login page of its own, so this one asks for credentials when the schema answers 401, logs in
# (POST /api/auth/login sets the session cookies) and then loads. Its request interceptor sends
# Django's CSRF header from the csrftoken cookie, as CVAT's page sends the token it rendered.
SWAGGER_PAGE = """<!DOCTYPE html>
<html>
<head>
<title>CVAT REST API</title>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="{static}favicon.png">
<link rel="stylesheet" href="{static}swagger-ui.css">
<style>
#login {{ font: 14px sans-serif; max-width: 460px; margin: 2em auto; padding: 1em 1.5em;
          border: 1px solid #ccc; border-radius: 4px; }}
#login input {{ display: block; margin: .3em 0 .8em; width: 100%; }}
#login-error {{ color: #b00; }}
</style>
</head>
<body>
<form id="login" hidden>
<p>The API schema needs a logged-in user, as in CVAT. Log in:</p>
<label>Username <input id="username" name="username" autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password"
  autocomplete="current-password"></label>
<button type="submit">Log in</button> <span id="login-error"></span>
</form>
<div id="swagger-ui"></div>
<script src="{static}swagger-ui-bundle.js"></script>
<script>
const SCHEMA = "{schema}";
function csrfToken() {{
  const found = document.cookie.split(";").map(c => c.trim())
    .find(c => c.startsWith("csrftoken="));
  return found ? decodeURIComponent(found.slice("csrftoken=".length)) : "";
}}
function start() {{
  window.ui = SwaggerUIBundle({{
    url: SCHEMA,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "BaseLayout",
    deepLinking: true,
    displayOperationId: true,
    requestInterceptor: (request) => {{
      const token = csrfToken();
      if (token) {{ request.headers["X-CSRFToken"] = token; }}
      return request;
    }},
  }});
}}
const form = document.getElementById("login");
form.addEventListener("submit", async (event) => {{
  event.preventDefault();
  const answer = await fetch("/api/auth/login", {{
    method: "POST", headers: {{"Content-Type": "application/json"}},
    body: JSON.stringify({{username: form.username.value, password: form.password.value}}),
  }});
  if (answer.ok) {{ form.hidden = true; start(); }}
  else {{ document.getElementById("login-error").textContent = await answer.text(); }}
}});
fetch(SCHEMA, {{method: "HEAD"}}).then((answer) => {{
  if (answer.status === 401 || answer.status === 403) {{ form.hidden = false; }}
  else {{ start(); }}
}});
</script>
</body>
</html>
"""


async def swagger_ui(request: Request) -> Response:
    return HTMLResponse(SWAGGER_PAGE.format(static=STATIC_PREFIX,
                                            schema="/api/schema/?scheme=json"))


async def swagger_static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC_FILES:
        raise NotFound()
    return FileResponse(swagger_dir() / name, media_type=STATIC_FILES[name],
                        headers={"Cache-Control": "max-age=86400"})


# --- the state page ---------------------------------------------------------------------------
def state(mock: MockCVAT) -> dict[str, Any]:
    """What the state page shows (``GET /_mockcvat/state``): the newest ``STATE_LIMIT`` rows of
    each table, with the API URL of each object."""
    from mockcvat.models import (
        BackgroundRequest,
        Job,
        LabeledImage,
        LabeledShape,
        LabeledTrack,
        Membership,
        Organization,
        Project,
        Segment,
        Task,
        User,
    )

    def newest(key: Any, *columns: Any) -> Any:
        return select(*columns).order_by(key.desc()).limit(STATE_LIMIT)

    with mock.db.read() as db:
        def counted(column: Any) -> dict[int, int]:
            return dict(db.execute(select(column, func.count()).group_by(column)).all())

        members = counted(Membership.organization_id)
        tasks_in = counted(Task.project_id)
        tags = counted(LabeledImage.job_id)
        shapes = dict(db.execute(select(LabeledShape.job_id, func.count()).where(
            LabeledShape.parent_id.is_(None)).group_by(LabeledShape.job_id)).all())
        tracks = dict(db.execute(select(LabeledTrack.job_id, func.count()).where(
            LabeledTrack.parent_id.is_(None)).group_by(LabeledTrack.job_id)).all())
        usernames = dict(db.execute(select(User.id, User.username)).all())
        return {
            "cvat_version": mock.settings.cvat_version,
            "admin": mock.settings.admin_username,
            "users": [{"id": u.id, "username": u.username, "is_superuser": u.is_superuser,
                       "is_active": u.is_active, "url": f"/api/users/{u.id}"}
                      for u in db.execute(newest(User.id, User.id, User.username,
                                                 User.is_superuser, User.is_active))],
            "organizations": [{"id": o.id, "slug": o.slug, "name": o.name,
                               "owner": usernames.get(o.owner_id),
                               "members": members.get(o.id, 0),
                               "url": f"/api/organizations/{o.id}"}
                              for o in db.execute(newest(Organization.id, Organization.id,
                                                         Organization.slug, Organization.name,
                                                         Organization.owner_id))],
            "projects": [{"id": p.id, "name": p.name, "organization": p.organization_id,
                          "owner": usernames.get(p.owner_id), "tasks": tasks_in.get(p.id, 0),
                          "url": f"/api/projects/{p.id}"}
                         for p in db.execute(newest(Project.id, Project.id, Project.name,
                                                    Project.organization_id,
                                                    Project.owner_id))],
            "tasks": [{"id": t.id, "name": t.name, "project_id": t.project_id,
                       "organization": t.organization_id, "owner": usernames.get(t.owner_id),
                       "mode": t.mode, "status": t.status, "url": f"/api/tasks/{t.id}"}
                      for t in db.execute(newest(Task.id, Task.id, Task.name, Task.project_id,
                                                 Task.organization_id, Task.owner_id,
                                                 Task.mode, Task.status))],
            "jobs": [{"id": j.id, "task_id": j.task_id, "type": j.type, "stage": j.stage,
                      "state": j.state, "frames": f"{j.start_frame}-{j.stop_frame}",
                      "assignee": usernames.get(j.assignee_id),
                      "annotations": {"tags": tags.get(j.id, 0), "shapes": shapes.get(j.id, 0),
                                      "tracks": tracks.get(j.id, 0)},
                      "url": f"/api/jobs/{j.id}"}
                     for j in db.execute(newest(Job.id, Job.id, Job.task_id, Job.type, Job.stage,
                                                Job.state, Job.assignee_id, Segment.start_frame,
                                                Segment.stop_frame)
                                         .join(Segment, Segment.id == Job.segment_id))],
            "requests": [{"id": r.rq_id, "status": r.status, "action": r.action,
                          "target": r.target, "target_id": r.target_id,
                          "owner": r.owner_username, "progress": r.progress,
                          "message": r.message, "url": f"/api/requests/{r.rq_id}"}
                         for r in db.execute(newest(
                             BackgroundRequest.pk, BackgroundRequest.rq_id,
                             BackgroundRequest.status, BackgroundRequest.action,
                             BackgroundRequest.target, BackgroundRequest.target_id,
                             BackgroundRequest.owner_username, BackgroundRequest.progress,
                             BackgroundRequest.message))],
            "faults": mock.faults.list(),
            "journal": {"enabled": mock.journal.enabled, "size": mock.journal.size,
                        "entries": len(mock.journal)},
        }


STATE_PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>mockcvat</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin: 1.2em 0 .3em; }
table { border-collapse: collapse; margin-bottom: .5em; }
td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } .empty { color: #888; } .s4, .s5 { color: #b00; }
#journal td:nth-child(1) { color: #888; }
</style>
</head>
<body>
<h1>mockcvat <span id="version"></span></h1>
<p>A fake CVAT. API: <a href="/api/docs">/api/docs</a> &middot; state as JSON:
<a href="/_mockcvat/state">/_mockcvat/state</a> &middot; journal:
<a href="/_mockcvat/journal">/_mockcvat/journal</a> &middot;
<button id="refresh">refresh</button></p>
<div id="state"></div>
<h2>Journal (live, newest first)</h2>
<table id="journal"><thead><tr><th>#</th><th>time</th><th>method</th><th>path</th>
<th>operation</th><th>status</th><th>ms</th><th>user</th></tr></thead><tbody></tbody></table>
<script>
const TABLES = [
  ["users", ["id", "username", "is_superuser", "is_active"]],
  ["organizations", ["id", "slug", "name", "owner", "members"]],
  ["projects", ["id", "name", "organization", "owner", "tasks"]],
  ["tasks", ["id", "name", "project_id", "organization", "owner", "mode", "status"]],
  ["jobs", ["id", "task_id", "type", "stage", "state", "frames", "assignee", "annotations"]],
  ["requests", ["id", "status", "action", "target", "target_id", "owner", "progress",
                "message"]],
];
function cell(value) {
  const td = document.createElement("td");
  if (value !== null && typeof value === "object") {
    td.textContent = Object.entries(value).map(([k, v]) => k + ": " + v).join(", ");
  } else {
    td.textContent = value === null || value === undefined ? "" : String(value);
  }
  return td;
}
function link(url, text) {
  const a = document.createElement("a");
  a.href = url; a.textContent = text;
  const td = document.createElement("td"); td.appendChild(a); return td;
}
function render(state) {
  document.getElementById("version").textContent = "(CVAT " + state.cvat_version + ")";
  const root = document.getElementById("state");
  root.textContent = "";
  for (const [name, columns] of TABLES) {
    const rows = state[name];
    const h = document.createElement("h2");
    h.textContent = name + " (" + rows.length + ")";
    root.appendChild(h);
    if (!rows.length) {
      const p = document.createElement("p"); p.className = "empty"; p.textContent = "none";
      root.appendChild(p); continue;
    }
    const table = document.createElement("table");
    table.id = name;
    const head = table.createTHead().insertRow();
    for (const column of columns) {
      const th = document.createElement("th"); th.textContent = column; head.appendChild(th);
    }
    const body = table.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      tr.dataset.id = row.id;
      for (const column of columns) {
        tr.appendChild(column === "id" ? link(row.url, row.id) : cell(row[column]));
      }
    }
    root.appendChild(table);
  }
}
let lastId = 0;
async function refreshState() {
  const answer = await fetch("/_mockcvat/state");
  render(await answer.json());
}
async function pollJournal() {
  try {
    const answer = await fetch("/_mockcvat/journal?limit=200");
    const journal = await answer.json();
    const body = document.querySelector("#journal tbody");
    const fresh = journal.entries.filter(e => e.id > lastId);
    for (const e of fresh) {
      const tr = document.createElement("tr");
      tr.dataset.id = e.id;
      tr.className = "s" + String(e.status)[0];
      const path = e.path + (e.query ? "?" + e.query : "");
      for (const v of [e.id, e.time.slice(11, 23), e.method, path, e.operation_id, e.status,
                       e.duration_ms, e.user]) tr.appendChild(cell(v));
      body.insertBefore(tr, body.firstChild);
      lastId = e.id;
    }
    if (fresh.length) { refreshState(); }
    while (body.rows.length > 200) body.deleteRow(body.rows.length - 1);
  } finally {
    setTimeout(pollJournal, 500);
  }
}
document.getElementById("refresh").onclick = refreshState;
refreshState();
pollJournal();
</script>
</body>
</html>
"""


async def state_page(request: Request) -> Response:
    return HTMLResponse(STATE_PAGE)


def state_json(mock: MockCVAT) -> str:
    return json.dumps(state(mock), default=str)
