"""Review issues and their comments (``IssueViewSet``, ``CommentViewSet``).

An issue marks a region (``position``, the points of a polygon) on a frame of a job and is
opened with its first comment (``message``); its owner and the job's staff discuss it in
comments, and it is resolved or reopened by PATCHing ``resolved``. CVAT does not check the
frame against the job's range; neither does this. Deleting the job (so its task or project)
deletes its issues and their comments (foreign keys).

Every change of state goes through one function each, the seam for the domain-event stream:
``create_issue``, ``update_issue``, ``destroy_issue``, ``create_comment``, ``update_comment``,
``destroy_comment``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select

from mockcvat import iam, listing
from mockcvat.errors import PermissionDenied, ValidationFailed
from mockcvat.jsonlogic import FilterField
from mockcvat.models import Comment, Issue, Job, Task, User
from mockcvat.models.users import utcnow
from mockcvat.schemas.fields import PrimaryKeyField
from mockcvat.schemas.issues import CommentRead, CommentWrite, IssueRead, IssueWrite
from mockcvat.services import resources
from mockcvat.services.organizations import username_of
from mockcvat.services.users import basic_users

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context

ISSUES = listing.Listing(
    fields={
        "owner": FilterField("owner", username_of(Issue.owner_id), nullable=True),
        "assignee": FilterField("assignee", username_of(Issue.assignee_id), nullable=True),
        "id": FilterField("id", Issue.id, "int"),
        "job_id": FilterField("job_id", Issue.job_id, "int"),
        "task_id": FilterField("task_id", select(Job.task_id).where(Job.id == Issue.job_id)
                               .scalar_subquery(), "int"),
        "resolved": FilterField("resolved", Issue.resolved, "bool"),
        "frame_id": FilterField("frame_id", Issue.frame, "int"),
    },
    filter_fields=("owner", "assignee", "id", "job_id", "task_id", "resolved", "frame_id"),
    search_fields=("owner", "assignee"),
    ordering_fields=("owner", "assignee", "id", "job_id", "task_id", "resolved", "frame_id"),
    simple_filters=("owner", "assignee", "job_id", "task_id", "resolved", "frame_id"),
)


def _of_issue(column: Any) -> Any:
    return select(column).where(Issue.id == Comment.issue_id).scalar_subquery()


COMMENTS = listing.Listing(
    fields={
        "owner": FilterField("owner", username_of(Comment.owner_id), nullable=True),
        "id": FilterField("id", Comment.id, "int"),
        "issue_id": FilterField("issue_id", Comment.issue_id, "int"),
        "frame_id": FilterField("frame_id", _of_issue(Issue.frame), "int"),
        "job_id": FilterField("job_id", _of_issue(Issue.job_id), "int"),
    },
    filter_fields=("owner", "id", "issue_id", "frame_id", "job_id"),
    search_fields=("owner",),
    ordering_fields=("owner", "id", "issue_id", "frame_id", "job_id"),
    simple_filters=("owner", "issue_id", "frame_id", "job_id"),
)


# --- representation ----------------------------------------------------------------------------
def payloads(ctx: Context, db: Any, issues: Iterable[Any]) -> list[dict[str, Any]]:
    issues = list(issues)
    people = basic_users(ctx, db, [i.owner_id for i in issues] + [i.assignee_id for i in issues])
    ids = [i.id for i in issues]
    counts = dict(db.execute(select(Comment.issue_id, func.count()).where(
        Comment.issue_id.in_(ids)).group_by(Comment.issue_id)).all()) if ids else {}
    comments_url = ctx.absolute("/api/comments")
    return [IssueRead.dump({
        "id": i.id, "frame": i.frame, "position": list(i.position or []), "job": i.job_id,
        "owner": people.get(i.owner_id), "assignee": people.get(i.assignee_id),
        "created_date": i.created_date, "updated_date": i.updated_date, "resolved": i.resolved,
        "comments": {"count": counts.get(i.id, 0), "url": f"{comments_url}?issue_id={i.id}"},
    }) for i in issues]


def comment_payloads(ctx: Context, db: Any, comments: Iterable[Any]) -> list[dict[str, Any]]:
    comments = list(comments)
    people = basic_users(ctx, db, [c.owner_id for c in comments])
    return [CommentRead.dump({
        "id": c.id, "issue": c.issue_id, "owner": people.get(c.owner_id), "message": c.message,
        "created_date": c.created_date, "updated_date": c.updated_date,
    }) for c in comments]


def issue_counts(db: Any, job_ids: Iterable[int]) -> dict[int, int]:
    """The number of issues of each job (``JobRead.issues.count``)."""
    wanted = list(job_ids)
    if not wanted:
        return {}
    return dict(db.execute(_ISSUE_COUNTS, {"ids": wanted}).all())


# built once: every page of a job list runs it
_ISSUE_COUNTS = select(Issue.job_id, func.count()).where(
    Issue.job_id.in_(bindparam("ids", expanding=True))).group_by(Issue.job_id)


# --- lists ---------------------------------------------------------------------------------------
def list_issues(ctx: Context) -> dict[str, Any]:
    query = select(*Issue.__table__.columns).where(iam.engine(ctx).visible_issues())
    with ctx.mock.db.read() as connection:
        page = listing.paginate(connection, query, ISSUES, ctx.params, ctx.url, pk=Issue.id)
        return page.body(payloads(ctx, connection, page.rows))


def list_comments(ctx: Context) -> dict[str, Any]:
    query = select(*Comment.__table__.columns).where(iam.engine(ctx).visible_comments())
    with ctx.mock.db.read() as connection:
        page = listing.paginate(connection, query, COMMENTS, ctx.params, ctx.url, pk=Comment.id)
        return page.body(comment_payloads(ctx, connection, page.rows))


# --- loading, with the caller's standing --------------------------------------------------------
def _standing(ctx: Context, db: Session, job: Job, issue: Issue | None = None,
              comment: Comment | None = None) -> iam.Standing:
    task = resources.get(db, Task, job.task_id, "Task")
    return iam.engine(ctx).standing(
        db, organization_id=task.organization_id, project=resources.project_of(db, task),
        task=task, job=job, issue=issue, comment=comment)


def _issue(ctx: Context, db: Session, issue_id: int, scope: str) -> tuple[Issue, iam.Standing]:
    issue = resources.get(db, Issue, issue_id, "Issue")
    standing = _standing(ctx, db, resources.get(db, Job, issue.job_id, "Job"), issue)
    policy = iam.engine(ctx)
    policy.check(policy.allow_issue(scope, standing))
    return issue, standing


def _comment(ctx: Context, db: Session, comment_id: int, scope: str) -> Comment:
    comment = resources.get(db, Comment, comment_id, "Comment")
    issue = resources.get(db, Issue, comment.issue_id, "Issue")
    standing = _standing(ctx, db, resources.get(db, Job, issue.job_id, "Job"), issue, comment)
    policy = iam.engine(ctx)
    policy.check(policy.allow_comment(scope, standing))
    return comment


def _check_assignee(ctx: Context, raw: Any, role: str | None, *, in_org: bool) -> None:
    """``IssuePermission.create``: an ``assignee`` in the body must be a user the caller may
    view (users.rego), judged before the body is validated."""
    assignee = raw.get("assignee") if isinstance(raw, Mapping) else None
    if not assignee or isinstance(assignee, bool):
        return
    try:
        user_id = int(assignee)
    except (TypeError, ValueError, OverflowError):
        return  # not an id: the serializer says so
    if not iam.may_view_user(ctx, user_id, role, in_org=in_org):
        raise PermissionDenied()


def _existing_user(db: Session) -> Any:
    def check(user_id: int | None) -> int | None:
        if user_id is not None and (not 0 <= user_id < 2**63 or db.get(User, user_id) is None):
            raise ValidationFailed([PrimaryKeyField.does_not_exist(user_id)])
        return user_id
    return check


# --- events ------------------------------------------------------------------------------------
def _event_ids(db: Session, job_id: int) -> dict[str, Any]:
    """Where an issue or comment sits, for the event stream (webhooks of its project and org,
    the event log's columns): its job's task, project and organization."""
    job = db.get(Job, job_id)
    task = db.get(Task, job.task_id) if job else None
    return {"job_id": job_id, "task_id": task.id if task else None,
            "project_id": task.project_id if task else None,
            "org_id": task.organization_id if task else None}


def _comment_event_ids(db: Session, comment: Comment) -> dict[str, Any]:
    issue = db.get(Issue, comment.issue_id)
    return _event_ids(db, issue.job_id) if issue else {}


def deletion_snapshots(ctx: Context, db: Session, job_ids: list[int]
                       ) -> list[resources.Snapshot]:
    """The issues of jobs about to be deleted, with their comments (see ``_snapshots``)."""
    if not job_ids:
        return []
    return _snapshots(ctx, db, list(db.execute(
        select(Issue).where(Issue.job_id.in_(job_ids)).order_by(Issue.id)).scalars()))


def _snapshots(ctx: Context, db: Session, found: list[Issue]) -> list[resources.Snapshot]:
    """Comments, then their issues, as they read before a deletion takes them (a cascade
    announces every object it deletes, as Django's does)."""
    comments = list(db.execute(select(Comment).where(
        Comment.issue_id.in_([i.id for i in found])).order_by(Comment.id)).scalars())
    ids = {issue.id: _event_ids(db, issue.job_id) for issue in found}
    return [resources.Snapshot("delete:comment", read, None, ids[c.issue_id])
            for c, read in zip(comments, comment_payloads(ctx, db, comments), strict=True)
            ] + [resources.Snapshot("delete:issue", read, None, ids[issue.id])
                 for issue, read in zip(found, payloads(ctx, db, found), strict=True)]


# --- issues --------------------------------------------------------------------------------------
def retrieve_issue(ctx: Context, issue_id: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        issue, _ = _issue(ctx, db, issue_id, "view")
        return payloads(ctx, db, [issue])[0]


def create_issue(ctx: Context, raw: Any) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        job = resources.referenced(db, raw, "job", Job, IssueWrite)
        standing = _standing(ctx, db, job)
        policy = iam.engine(ctx)
        policy.check(policy.allow_create_in(standing, staff=standing.job_staff))
        _check_assignee(ctx, raw, ctx.org.role, in_org=ctx.org.organization is not None)
        data = IssueWrite.validate(raw, checks={"assignee": _existing_user(db)})
        now = utcnow()
        issue = Issue(frame=data["frame"], position=data["position"], job_id=job.id or 0,
                      owner_id=ctx.user.id, assignee_id=data.get("assignee"),
                      resolved=data.get("resolved", False), created_date=now, updated_date=now)
        db.add(issue)
        db.flush()
        db.add(Comment(issue_id=issue.id or 0, owner_id=ctx.user.id, message=data["message"],
                       created_date=now, updated_date=now))
        db.flush()
        created = payloads(ctx, db, [issue])[0]
        ctx.mock.events.emit(ctx, db, "create:issue", created, **_event_ids(db, issue.job_id))
        return created


def update_issue(ctx: Context, issue_id: int, raw: Any) -> dict[str, Any]:
    """Resolve or reopen (``resolved``), reassign, move (``position``)."""
    with ctx.mock.db.session() as db:
        issue, standing = _issue(ctx, db, issue_id, "update")
        _check_assignee(ctx, raw, standing.role, in_org=standing.organization_id is not None)
        data = IssueWrite.validate(raw, partial=True, checks={"assignee": _existing_user(db)})
        before = payloads(ctx, db, [issue])[0]
        for key, column in (("position", "position"), ("assignee", "assignee_id"),
                            ("resolved", "resolved")):
            if key in data:
                setattr(issue, column, data[key])
        issue.updated_date = utcnow()
        db.add(issue)
        db.flush()
        updated = payloads(ctx, db, [issue])[0]
        ctx.mock.events.emit(ctx, db, "update:issue", updated, before=before,
                             **_event_ids(db, issue.job_id))
        return updated


def destroy_issue(ctx: Context, issue_id: int) -> None:
    """The issue and its comments."""
    with ctx.mock.db.session() as db:
        issue, _ = _issue(ctx, db, issue_id, "delete")
        deleted = _snapshots(ctx, db, [issue])
        db.delete(issue)
        db.flush()
        resources.announce(ctx, db, deleted)


# --- comments ------------------------------------------------------------------------------------
def retrieve_comment(ctx: Context, comment_id: int) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        return comment_payloads(ctx, db, [_comment(ctx, db, comment_id, "view")])[0]


def create_comment(ctx: Context, raw: Any) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        issue = resources.referenced(db, raw, "issue", Issue, CommentWrite)
        standing = _standing(ctx, db, resources.get(db, Job, issue.job_id, "Job"), issue)
        policy = iam.engine(ctx)
        policy.check(policy.allow_create_in(standing, staff=standing.issue_staff))
        data = CommentWrite.validate(raw)
        now = utcnow()
        comment = Comment(issue_id=issue.id or 0, owner_id=ctx.user.id,
                          message=data.get("message", ""), created_date=now, updated_date=now)
        db.add(comment)
        db.flush()
        created = comment_payloads(ctx, db, [comment])[0]
        ctx.mock.events.emit(ctx, db, "create:comment", created, **_event_ids(db, issue.job_id))
        return created


def update_comment(ctx: Context, comment_id: int, raw: Any) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        comment = _comment(ctx, db, comment_id, "update")
        data = CommentWrite.validate(raw, partial=True)
        before = comment_payloads(ctx, db, [comment])[0]
        if "message" in data:
            comment.message = data["message"]
        comment.updated_date = utcnow()
        db.add(comment)
        db.flush()
        updated = comment_payloads(ctx, db, [comment])[0]
        ctx.mock.events.emit(ctx, db, "update:comment", updated, before=before,
                             **_comment_event_ids(db, comment))
        return updated


def destroy_comment(ctx: Context, comment_id: int) -> None:
    with ctx.mock.db.session() as db:
        comment = _comment(ctx, db, comment_id, "delete")
        deleted, ids = comment_payloads(ctx, db, [comment])[0], _comment_event_ids(db, comment)
        db.delete(comment)
        db.flush()
        ctx.mock.events.emit(ctx, db, "delete:comment", deleted, **ids)
