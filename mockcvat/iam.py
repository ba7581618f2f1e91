"""The policy: who may do what, and which rows a caller sees — one module for every resource.

CVAT decides permissions with OPA rules (``cvat/apps/iam/rules/*.rego``) fed with the caller's
privilege group (admin > user > worker), the organization context and the caller's
role in it. This module encodes the same rules in Python; list visibility is returned as a
SQL condition so that counts and pages stay right. See ``docs/iam.md`` for the rule table.

Later resources add their own ``<resource>(ctx)`` policy object here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, false, func, select, true

from mockcvat.auth import PRIVILEGES
from mockcvat.errors import NotFound, PermissionDenied, ValidationFailed
from mockcvat.models import Invitation, Membership, Organization, User

if TYPE_CHECKING:
    from mockcvat.api import Context


# --- organization context (cvat/apps/iam/middleware.py: get_organization) ------------------
@dataclass(frozen=True)
class OrgContext:
    organization: Organization | None  # None: no org was named (or the personal workspace)
    explicit: bool  # an org or the personal workspace ("") was named
    role: str | None  # the caller's role in the organization, if a member


def resolve_org_context(ctx: Context) -> OrgContext:
    params = ctx.params
    slug = params.get("org")
    org_id = params.get("org_id")
    header = ctx.request.headers.get("x-organization")
    if org_id is not None and (slug is not None or header is not None):
        raise ValidationFailed(
            'You cannot specify "org_id" query parameter with "org" query parameter or '
            '"X-Organization" HTTP header at the same time.'
        )
    if slug is not None and header is not None and slug != header:
        raise ValidationFailed(
            'You cannot specify "org" query parameter and "X-Organization" HTTP header with '
            "different values."
        )
    slug = slug if slug is not None else header
    explicit = slug is not None or org_id is not None
    if not slug and not org_id:
        return OrgContext(None, explicit, None)
    organization = None
    with ctx.mock.db.session() as db:
        if slug:
            organization = db.execute(
                select(Organization).where(Organization.slug == slug)
            ).scalar_one_or_none()
        elif org_id:
            try:
                organization = db.get(Organization, int(org_id))
            except (ValueError, OverflowError):
                organization = None
        if (slug or org_id) and organization is None:
            raise NotFound(f"{slug or org_id} organization does not exist.")
        role = None
        if organization is not None and ctx.identity is not None:
            role = role_in(db, ctx.identity.user.id, organization.id or 0)
    return OrgContext(organization, explicit, role)


def role_in(connection: Any, user_id: int, organization_id: int) -> str | None:
    """The user's role in an organization through an *active* membership (OPA's
    ``auth.organization.user.role``), else ``None``."""
    return connection.execute(
        select(Membership.role).where(
            Membership.organization_id == organization_id,
            Membership.user_id == user_id,
            Membership.is_active.is_(True),
        )
    ).scalar_one_or_none()


def privilege_of(ctx: Context) -> str | None:
    """The caller's highest privilege group (read at authentication)."""
    if ctx.identity is None:
        return None
    return ctx.identity.privilege


def is_admin(ctx: Context) -> bool:
    return privilege_of(ctx) == "admin"


def has_privilege(ctx: Context, least: str) -> bool:
    """The caller's group is ``least`` or higher (admin > user > worker)."""
    privilege = privilege_of(ctx)
    return privilege is not None and PRIVILEGES.index(privilege) <= PRIVILEGES.index(least)


# --- server (cvat/apps/engine/rules/server.rego) ----------------------------------------------
def check_share_listing(ctx: Context) -> None:
    """Browsing the share needs the ``user`` privilege or higher: workers get 403."""
    if not has_privilege(ctx, "user"):
        raise PermissionDenied()


# --- users (cvat/apps/engine/rules/users.rego) ---------------------------------------------
class UsersPolicy:
    """list: anyone; admins see everyone, others only themselves; in an organization, its
    members (the caller must be one, or an admin). view: admin, oneself, or any user when the
    caller is a member of the organization in context. update/delete: admin or oneself.
    Clients authenticated by an access token may only read users."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.me = ctx.user
        self.admin = is_admin(ctx)
        self.org = ctx.org

    def visibility(self) -> tuple[Any, ...]:
        """A key naming the set of users this caller may list (checks membership)."""
        organization = self.org.organization
        if organization is not None:
            if not self.admin and self.org.role is None:
                raise PermissionDenied()
            return ("org", organization.id)
        return ("sandbox", None if self.admin else self.me.id, self.org.explicit)

    def visible(self) -> Any:
        """SQL condition selecting the users this caller may list."""
        kind, *rest = self.visibility()
        if kind == "org":
            return exists().where(Membership.user_id == User.id,
                                  Membership.organization_id == rest[0])
        condition = true() if self.admin else User.id == self.me.id
        if self.org.explicit:  # org="" : the personal workspace, users of no organization
            condition = condition & ~exists().where(Membership.user_id == User.id)
        return condition

    def check_view(self, user: User) -> None:
        if not may_view_user(self.ctx, user.id or 0, self.org.role,
                             in_org=self.org.organization is not None):
            raise PermissionDenied()

    def check_change(self, user: User) -> None:
        """update and delete"""
        if self.ctx.identity is not None and self.ctx.identity.method == "access_token":
            raise PermissionDenied()
        if not (self.admin or user.id == self.me.id):
            raise PermissionDenied()


def users(ctx: Context) -> UsersPolicy:
    return UsersPolicy(ctx)


# --- organizations (cvat/apps/organizations/rules/organizations.rego) -------------------------
ORG_STAFF = ("owner", "maintainer")


class OrganizationsPolicy:
    """list: anyone, rows = orgs the caller owns or is an active member of (admin: all); the
    same rows bound every detail action (others get 404). create: ``user`` privilege or higher.
    update: admin, the org's owner or a maintainer. delete: admin or the org's owner."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.me = ctx.user
        self.admin = is_admin(ctx)
        _ = ctx.org  # CVAT resolves the context on every request: a bad one is 400/404

    def visible(self) -> Any:
        if self.admin:
            return true()
        return (Organization.owner_id == self.me.id) | exists().where(
            Membership.organization_id == Organization.id,
            Membership.user_id == self.me.id,
            Membership.is_active.is_(True),
        )

    def check_create(self) -> None:
        if not has_privilege(self.ctx, "user"):
            raise PermissionDenied()

    def check_update(self, organization: Organization, role: str | None) -> None:
        if self.admin or has_privilege(self.ctx, "worker") and (
            organization.owner_id == self.me.id or role == "maintainer"
        ):
            return
        raise PermissionDenied()

    def check_delete(self, organization: Organization) -> None:
        if self.admin or has_privilege(self.ctx, "worker") and organization.owner_id == self.me.id:
            return
        raise PermissionDenied()


def organizations(ctx: Context) -> OrganizationsPolicy:
    return OrganizationsPolicy(ctx)


# --- memberships (cvat/apps/organizations/rules/memberships.rego) ----------------------------
class MembershipsPolicy:
    """list: see ``visible``. Detail actions are judged in the membership's own organization
    (not the request's), so outsiders get 403, not 404. ``role`` below is the caller's active
    role in that organization."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.me = ctx.user
        self.admin = is_admin(ctx)
        _ = ctx.org  # CVAT resolves the context on every request: a bad one is 400/404

    def visible(self) -> Any:
        """Rows of the list; 403 for a non-member naming an organization."""
        org = self.ctx.org
        if org.organization is not None:
            in_org = Membership.organization_id == org.organization.id
            if self.admin or org.role in ORG_STAFF:
                return in_org  # pending invitees included
            if org.role is None:
                raise PermissionDenied()
            return in_org & Membership.is_active.is_(True)
        if org.explicit:  # the personal workspace has no memberships
            return false()
        if self.admin:
            return true()
        return (Membership.user_id == self.me.id) & Membership.is_active.is_(True)

    def check_view(self, membership: Membership, role: str | None) -> None:
        if self.admin or role in ORG_STAFF or role is not None and membership.is_active:
            return
        raise PermissionDenied()

    def _may_manage(self, membership: Membership, role: str | None,
                    organization: Organization) -> bool:
        """change:role and delete of someone else's membership (the new role is not judged)."""
        if self.admin:
            return True
        if membership.user_id == self.me.id or not has_privilege(self.ctx, "user"):
            return False
        if role == "owner" and organization.owner_id == self.me.id:
            return membership.role != "owner"
        if role == "maintainer":
            return membership.role in ("supervisor", "worker")
        return False

    def check_change_role(self, membership: Membership, role: str | None,
                          organization: Organization) -> None:
        if not self._may_manage(membership, role, organization):
            raise PermissionDenied()

    def check_delete(self, membership: Membership, role: str | None,
                     organization: Organization) -> None:
        if membership.user_id == self.me.id and not self.admin:
            # leaving: any active member but the owner
            if (membership.is_active and membership.role != "owner"
                    and has_privilege(self.ctx, "worker")):
                return
            raise PermissionDenied()
        if not self._may_manage(membership, role, organization):
            raise PermissionDenied()


def memberships(ctx: Context) -> MembershipsPolicy:
    return MembershipsPolicy(ctx)


# --- invitations (cvat/apps/organizations/rules/invitations.rego) ----------------------------
class InvitationsPolicy:
    """Rows (for the list *and* every detail action, from the request's org context): the
    invitations the caller sent or received; all of the organization's for admins and for its
    owners/maintainers with ``user`` privilege. Object actions are judged in the invitation's
    own organization."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.me = ctx.user
        self.admin = is_admin(ctx)
        _ = ctx.org  # CVAT resolves the context on every request: a bad one is 400/404

    def _staff(self, role: str | None) -> bool:
        return role in ORG_STAFF and has_privilege(self.ctx, "user")

    def visible(self, *, listing: bool) -> Any:
        org = self.ctx.org
        mine = (Invitation.owner_id == self.me.id) | (Membership.user_id == self.me.id)
        if org.organization is not None:
            in_org = Membership.organization_id == org.organization.id
            if self.admin or self._staff(org.role):
                return in_org
            if listing and org.role is None:
                raise PermissionDenied()
            return mine & in_org
        if listing and org.explicit:  # the list's org filter: no org = nothing
            return false()
        return true() if self.admin else mine

    def check_create(self, role: Any) -> None:
        """``role`` is the requested one, judged before the body is validated."""
        if self.admin:
            return
        org = self.ctx.org
        if org.organization is None or not has_privilege(self.ctx, "user"):
            raise PermissionDenied()
        if org.role == "owner" and role != "owner":
            return
        if org.role == "maintainer" and role not in ("owner", "maintainer"):
            return
        raise PermissionDenied()

    def check(self, action: str, invitation: Invitation, membership: Membership,
              role: str | None) -> None:
        """view, resend, delete, accept, decline on one invitation."""
        if self.admin:
            return
        inviter = invitation.owner_id == self.me.id
        invitee = membership.user_id == self.me.id
        if action == "view":
            allowed = self._staff(role) or inviter or invitee
        elif action in ("resend", "delete"):
            allowed = self._staff(role) or inviter and has_privilege(self.ctx, "worker")
        else:  # accept, decline
            allowed = invitee
        if not allowed:
            raise PermissionDenied()


def invitations(ctx: Context) -> InvitationsPolicy:
    return InvitationsPolicy(ctx)


# --- projects, tasks, jobs, labels (cvat/apps/engine/rules/{projects,tasks,jobs,labels}.rego) --
ROLE_RANK = {"owner": 0, "maintainer": 50, "supervisor": 75, "worker": 100}

# scope families, as the .rego files group them
TASK_VIEW = {"view", "view:annotations", "view:data", "view:metadata", "export:dataset",
             "export:annotations", "export:backup", "view:validation_layout"}
TASK_EDIT = {"update:desc", "update:annotations", "delete:annotations", "upload:data",
             "update:metadata", "import:annotations", "update:validation_layout"}
TASK_MANAGE = {"update:owner", "update:assignee", "update:project", "delete",
               "update:organization"}
JOB_VIEW = {"view", "view:annotations", "view:data", "view:metadata", "export:dataset",
            "export:annotations"}
JOB_EDIT = {"update:state", "update:annotations", "delete:annotations", "import:annotations",
            "update:metadata"}
JOB_VALIDATION = {"view:validation_layout", "update:validation_layout"}


def role_at_least(role: str | None, least: str) -> bool:
    return role is not None and ROLE_RANK[role] <= ROLE_RANK[least]


@dataclass(frozen=True)
class Standing:
    """The caller's relation to one project, task or job: OPA's ``auth.organization`` (the
    object's own organization and the caller's active role there) and ``resource``."""

    organization_id: int | None
    role: str | None = None
    project_owner: bool = False
    project_assignee: bool = False
    task_owner: bool = False
    task_assignee: bool = False
    job_assignee: bool = False
    issue_owner: bool = False
    issue_assignee: bool = False
    comment_owner: bool = False

    @property
    def project_staff(self) -> bool:
        return self.project_owner or self.project_assignee

    @property
    def task_staff(self) -> bool:
        return self.project_staff or self.task_owner or self.task_assignee

    @property
    def job_staff(self) -> bool:
        return self.task_staff or self.job_assignee

    @property
    def issue_admin(self) -> bool:
        """issues.rego: who may delete an issue (its task's staff, its owner)."""
        return self.task_staff or self.issue_owner

    @property
    def issue_staff(self) -> bool:
        return self.job_staff or self.issue_admin or self.issue_assignee

    @property
    def comment_staff(self) -> bool:
        return self.issue_staff or self.comment_owner


class EnginePolicy:
    """Projects, tasks, jobs and labels, and what hangs off them: issues, comments, annotation
    guides and their assets. Lists see what the caller owns or is assigned to
    (through the project for tasks, through the task for jobs), and everything of an
    organization for its maintainers and owner; detail actions are judged in the object's own
    organization (403 for outsiders, not 404)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.me = ctx.user
        self.admin = is_admin(ctx)

    def priv(self, least: str) -> bool:
        return has_privilege(self.ctx, least)

    # --- the caller's standing towards one object ------------------------------------------
    def standing(self, connection: Any, *, organization_id: int | None,
                 project: Any = None, task: Any = None, job: Any = None, issue: Any = None,
                 comment: Any = None) -> Standing:
        me = self.me.id

        def mine(obj: Any, column: str) -> bool:
            return obj is not None and getattr(obj, column) == me

        role = role_in(connection, me, organization_id) if organization_id else None
        return Standing(
            organization_id=organization_id, role=role,
            project_owner=mine(project, "owner_id"), project_assignee=mine(project, "assignee_id"),
            task_owner=mine(task, "owner_id"), task_assignee=mine(task, "assignee_id"),
            job_assignee=mine(job, "assignee_id"),
            issue_owner=mine(issue, "owner_id"), issue_assignee=mine(issue, "assignee_id"),
            comment_owner=mine(comment, "owner_id"),
        )

    def _in_org(self, s: Standing, least: str) -> bool:
        return s.organization_id is not None and role_at_least(s.role, least)

    def _maintains(self, s: Standing) -> bool:
        """Org maintainers and owners (with the ``user`` privilege) may do most things."""
        return self._in_org(s, "maintainer") and self.priv("user")

    def _staff_may(self, s: Standing, staff: bool) -> bool:
        """In the personal workspace: the staff; in an organization: staff who are members."""
        return staff and (s.organization_id is None or self._in_org(s, "worker"))

    # --- projects.rego ----------------------------------------------------------------------
    def allow_project(self, scope: str, s: Standing) -> bool:
        if self.admin:
            return True
        owner, staff = s.project_owner, s.project_staff
        if scope in ("view", "export:dataset", "export:annotations", "export:backup"):
            return self._staff_may(s, staff) or self._maintains(s)
        if scope in ("delete", "update:organization", "update:associated_storage",
                     "update:assignee"):
            return self.priv("worker") and self._staff_may(s, owner) or self._maintains(s)
        if scope in ("update:desc", "import:dataset"):
            return self.priv("worker") and self._staff_may(s, staff) or self._maintains(s)
        if scope == "update:owner":  # no one in the personal workspace but admins
            # org staff with ``user`` privilege; with ``worker`` privilege, if they own it
            return self._maintains(s) or (self.priv("worker") and owner
                                          and self._in_org(s, "maintainer"))
        return False

    # --- tasks.rego -------------------------------------------------------------------------
    def allow_task(self, scope: str, s: Standing) -> bool:
        if self.admin:
            return True
        if scope in TASK_VIEW:
            return self._staff_may(s, s.task_staff) or self._maintains(s)
        if scope in TASK_EDIT:
            return self.priv("worker") and self._staff_may(s, s.task_staff) or self._maintains(s)
        if scope in TASK_MANAGE:
            staff = s.task_owner or s.project_staff
            return self.priv("worker") and self._staff_may(s, staff) or self._maintains(s)
        if scope == "update:associated_storage":
            staff = s.task_owner or s.project_owner
            return self.priv("worker") and self._staff_may(s, staff) or self._maintains(s)
        return False

    def allow_create(self, organization_id: int | None, role: str | None,
                     project: Standing | None = None) -> bool:
        """create (projects, tasks) and create@project (tasks) in the given workspace
        (``organization_id``, ``role``: the request's org context). create@project also needs
        ``view`` of the project, judged in the *request's* context (TaskPermission.create
        passes its iam_context to ProjectPermission.create_scope_view): a project of another
        workspace is refused, and in an org a supervisor must be the project's staff."""
        if self.admin:
            return True
        if not self.priv("user"):
            return False
        if organization_id is None:
            return project is None or project.project_staff
        if project is None:
            return role_at_least(role, "supervisor")
        if project.organization_id != organization_id:
            return False
        return role_at_least(role, "maintainer") or (
            role_at_least(role, "worker") and project.project_staff)

    # --- jobs.rego --------------------------------------------------------------------------
    def allow_job(self, scope: str, s: Standing) -> bool:
        if self.admin:
            return True
        # a worker-privilege outsider assigned to the job keeps working on it
        lone_assignee = (s.organization_id is not None and s.role is None
                         and privilege_of(self.ctx) == "worker" and s.job_assignee)
        if scope in ("create", "delete"):
            return self.priv("user") and (
                s.task_staff and (s.organization_id is None or role_at_least(s.role, "supervisor"))
                or self._maintains(s))
        if scope in JOB_VIEW:  # the lone assignee may not export
            return (self._staff_may(s, s.job_staff) or self._maintains(s)
                    or lone_assignee and not scope.startswith("export:"))
        if scope in JOB_EDIT:
            return (self.priv("worker") and self._staff_may(s, s.job_staff)
                    or self._maintains(s) or lone_assignee)
        if scope in ("update:stage", "update:assignee"):
            return self.priv("worker") and self._staff_may(s, s.task_staff) or self._maintains(s)
        if scope in JOB_VALIDATION:
            return self._staff_may(s, s.task_staff) or self._maintains(s)
        return False

    # --- issues.rego, comments.rego ------------------------------------------------------------
    def allow_issue(self, scope: str, s: Standing) -> bool:
        """view, update, delete of an issue (judged in its job's organization)."""
        if self.admin:
            return True
        if scope == "view":
            return self._staff_may(s, s.issue_staff) or self._maintains(s)
        staff = s.issue_staff if scope == "update" else s.issue_admin
        return self.priv("worker") and self._staff_may(s, staff) or self._maintains(s)

    def allow_comment(self, scope: str, s: Standing) -> bool:
        """view, update, delete of a comment: the issue's staff or the comment's author."""
        if self.admin:
            return True
        if scope == "view":
            return self._staff_may(s, s.comment_staff) or self._maintains(s)
        return self.priv("worker") and self._staff_may(s, s.comment_staff) or self._maintains(s)

    def allow_create_in(self, s: Standing, *, staff: bool, least: str = "worker") -> bool:
        """create@job (issues), create@issue (comments) and guide creation: judged in the
        request's org context, not the object's. Without one, the object's staff (``least``
        privilege), wherever the object is; in the object's own organization, its maintainers
        and owner (``user`` privilege) and members who are staff; in another one, nobody."""
        if self.admin:
            return True
        org = self.ctx.org
        if org.organization is None:
            return self.priv(least) and staff
        if org.organization.id != s.organization_id:
            return False
        return (self.priv("user") and role_at_least(org.role, "maintainer")
                or self.priv(least) and org.role is not None and staff)

    # --- annotationguides.rego ----------------------------------------------------------------
    def allow_guide(self, scope: str, s: Standing, *, target_staff: bool,
                    job_staff: bool) -> bool:
        """view, update, delete of a guide (and so of its assets), judged in the organization
        of its task or project. ``target_staff``: the owner or assignee of that task or
        project; ``job_staff``: they have a task or job in it (view only)."""
        if self.admin:
            return True
        if self._maintains(s):
            return True
        member = s.organization_id is None or self._in_org(s, "worker")
        if scope == "view":
            if s.organization_id is None and not self.priv("worker"):
                return False
            return member and (target_staff or job_staff)
        return self.priv("user") and member and target_staff

    def check(self, allowed: bool) -> None:
        if not allowed:
            raise PermissionDenied()

    # --- list visibility (SQL) --------------------------------------------------------------
    def scope_key(self) -> tuple[Any, ...]:
        """Everything ``scoped`` (and the ``visible_*`` conditions built on it) depends on: a
        list may reuse the statements it built for the same key (``listing.paginate``)."""
        org = self.ctx.org
        return (self.admin, self.me.id, self.priv("user"), org.explicit, org.role,
                org.organization.id if org.organization is not None else None)

    def scoped(self, organization_column: Any, staff: Any, sees_all: str = "maintainer") -> Any:
        """The rows a list shows: the caller's own (``staff``) and, in an organization, all of
        it for ``sees_all`` and higher roles (with the ``user`` privilege); the org filter of
        the request applies on top."""
        org = self.ctx.org
        if org.organization is not None:
            in_org = organization_column == org.organization.id
            if self.admin:
                return in_org
            if org.role is None:
                raise PermissionDenied()
            if role_at_least(org.role, sees_all) and self.priv("user"):
                return in_org
            return in_org & staff
        condition = true() if self.admin else staff
        if org.explicit:  # the personal workspace only
            condition = condition & organization_column.is_(None)
        return condition

    def project_staff_ids(self) -> Any:
        from mockcvat.models import Project

        me = self.me.id
        return select(Project.id).where((Project.owner_id == me) | (Project.assignee_id == me))

    def task_staff_ids(self) -> Any:
        from mockcvat.models import Task

        me = self.me.id
        return select(Task.id).where(
            (Task.owner_id == me) | (Task.assignee_id == me)
            | Task.project_id.in_(self.project_staff_ids()))

    def visible_projects(self) -> Any:
        from mockcvat.models import Project

        me = self.me.id
        return self.scoped(Project.organization_id,
                           (Project.owner_id == me) | (Project.assignee_id == me))

    def visible_tasks(self) -> Any:
        from mockcvat.models import Task

        return self.scoped(Task.organization_id, Task.id.in_(self.task_staff_ids()))

    def visible_jobs(self) -> Any:
        from mockcvat.models import Job, Task

        organization = select(Task.organization_id).where(Task.id == Job.task_id)
        return self.scoped(organization.scalar_subquery(),
                           (Job.assignee_id == self.me.id)
                           | Job.task_id.in_(self.task_staff_ids()))

    def job_staff_ids(self) -> Any:
        from mockcvat.models import Job

        return select(Job.id).where((Job.assignee_id == self.me.id)
                                    | Job.task_id.in_(self.task_staff_ids()))

    def issue_staff_ids(self) -> Any:
        from mockcvat.models import Issue

        me = self.me.id
        return select(Issue.id).where((Issue.owner_id == me) | (Issue.assignee_id == me)
                                      | Issue.job_id.in_(self.job_staff_ids()))

    def visible_issues(self) -> Any:
        """issues.rego's filter: the issues the caller owns, is assigned to, or whose job they
        are staff of; all of an organization for its maintainers and owner."""
        from mockcvat.models import Issue

        return self.scoped(organization_of_job(Issue.job_id), Issue.id.in_(
            self.issue_staff_ids()))

    def visible_comments(self) -> Any:
        """comments.rego's filter: the caller's comments and those on issues they see."""
        from mockcvat.models import Comment, Issue

        organization = select(organization_of_job(Issue.job_id)).where(
            Issue.id == Comment.issue_id).scalar_subquery()
        return self.scoped(organization, (Comment.owner_id == self.me.id)
                           | Comment.issue_id.in_(self.issue_staff_ids()))

    def visible_labels(self) -> Any:
        """labels.rego: like tasks and projects, but an org worker sees only their own even
        in the org (no org condition in its last branch; the org filter adds it)."""
        from mockcvat.models import Label, Project, Task

        organization = func.coalesce(
            select(Task.organization_id).where(Task.id == Label.task_id).scalar_subquery(),
            select(Project.organization_id).where(Project.id == Label.project_id)
            .scalar_subquery())
        staff = (Label.task_id.in_(self.task_staff_ids())
                 | Label.project_id.in_(self.project_staff_ids()))
        return self.scoped(organization, staff)


def engine(ctx: Context) -> EnginePolicy:
    return EnginePolicy(ctx)


# --- cloud storages (cvat/apps/engine/rules/cloudstorages.rego) ------------------------------
class CloudStoragesPolicy:
    """create: ``user`` privilege; in an org, maintainer or owner. list: anyone; in an org its
    members: supervisors and up (``user`` privilege) see all of the org's storages, others
    their own. view/list:content: the owner (in an org, a member), org supervisors and up.
    update/delete: the owner (``worker`` privilege or higher; in an org, a member), org
    maintainers and up. Each is judged in a context, the organization and the caller's role
    there: the storage's own for its endpoints, the task's or project's when another
    resource names the storage (so only storages of the same workspace can be used there)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.me = ctx.user
        self.admin = is_admin(ctx)

    def visible(self) -> Any:
        from mockcvat.models import CloudStorage

        return engine(self.ctx).scoped(CloudStorage.organization_id,
                                       CloudStorage.owner_id == self.me.id, "supervisor")

    def check_create(self, role: str | None) -> None:
        organization = self.ctx.org.organization
        if self.admin or has_privilege(self.ctx, "user") and (
                organization is None or role_at_least(role, "maintainer")):
            return
        raise PermissionDenied()

    def allow(self, scope: str, storage: Any, organization_id: int | None,
              role: str | None) -> bool:
        """``scope`` on ``storage`` judged in the context ``organization_id``/``role``."""
        if self.admin:
            return True
        owner = storage.owner_id == self.me.id
        if organization_id is None:  # the sandbox: only the owner counts
            if scope in ("view", "list:content"):
                return owner
            return scope in ("update", "delete") and owner and has_privilege(self.ctx, "worker")
        if organization_id != storage.organization_id or role is None:
            return False
        if scope in ("view", "list:content"):
            return owner or has_privilege(self.ctx, "user") and role_at_least(role, "supervisor")
        if scope in ("update", "delete"):
            return (owner and has_privilege(self.ctx, "worker")
                    or has_privilege(self.ctx, "user") and role_at_least(role, "maintainer"))
        return False

    def check(self, connection: Any, scope: str, storage: Any,
              organization_id: Any = "own") -> None:
        """403 unless allowed; judged in the storage's own organization unless another
        context (an organization id, or None for the sandbox) is given."""
        if organization_id == "own":
            organization_id = storage.organization_id
        role = role_in(connection, self.me.id, organization_id) if organization_id else None
        if not self.allow(scope, storage, organization_id, role):
            raise PermissionDenied()


def cloudstorages(ctx: Context) -> CloudStoragesPolicy:
    return CloudStoragesPolicy(ctx)
def organization_of_job(job_id: Any) -> Any:
    """The organization of a job (its task's), as a SQL expression of a job id column."""
    from mockcvat.models import Job, Task

    return (select(Task.organization_id).join(Job, Job.task_id == Task.id)
            .where(Job.id == job_id).scalar_subquery())


def may_view_user(ctx: Context, user_id: int, role: str | None, *, in_org: bool) -> bool:
    """users.rego ``view`` of a user named in a body (an assignee): admins and oneself; in an
    organization context, any user for its members (the user need not exist: the serializer
    says so afterwards)."""
    return is_admin(ctx) or user_id == ctx.user.id or in_org and role is not None


# --- requests (cvat/apps/engine/permissions.py: RequestPermission; from the redis_handler
# refactoring on, cvat/apps/redis_handler/rules/requests.rego) -------------------------------
class RequestsPolicy:
    """list: any user, and only the requests they started (admins too): CVAT reads the jobs
    of the caller from Redis before it filters. The org context is resolved (a bad one is 400/
    404) but does not filter the list; the ``org`` query parameter does. view and cancel: the
    request's owner; in 2.26 nobody else, not even an admin (403 "You don't have permission to
    perform this action", no full stop); from ``background.NEW_REQUEST_IDS`` admins too."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.me = ctx.user
        self.admin = is_admin(ctx)
        _ = ctx.org  # CVAT resolves the context on every request: a bad one is 400/404

    def visible(self) -> Any:
        from mockcvat.models import BackgroundRequest

        return BackgroundRequest.owner_id == self.me.id

    def check(self, owner_id: int) -> None:
        """view and cancel of one request."""
        from mockcvat.background import NEW_REQUEST_IDS

        if owner_id == self.me.id:
            return
        if self.ctx.mock.compat.has(since=NEW_REQUEST_IDS):
            if self.admin:
                return
            raise PermissionDenied()
        raise PermissionDenied("You don't have permission to perform this action")


def requests(ctx: Context) -> RequestsPolicy:
    return RequestsPolicy(ctx)


# --- webhooks (cvat/apps/webhooks/rules/webhooks.rego, permissions.py) ------------------------
class WebhooksPolicy:
    """Org owners/maintainers manage an org's webhooks; a project's owner manages its project
    webhooks (and a webhook's owner, their own); admins everything. Creation names a scope
    per type (``create@project``, ``create@organization``; server webhooks and unknown types:
    admins only). Detail actions compare the *request's* org with the webhook's: in the
    personal workspace only the owner rules apply."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.me = ctx.user
        self.admin = is_admin(ctx)
        self.org = ctx.org

    def _role_at_least(self, least: str) -> bool:
        return role_at_least(self.org.role, least)

    def visible(self) -> Any:
        """The list's rows (rego ``filter``); non-members naming an org get 403."""
        from mockcvat.models import Project, Webhook

        project_owner = Webhook.project_id.in_(
            select(Project.id).where(Project.owner_id == self.me.id))
        mine = (Webhook.owner_id == self.me.id) | project_owner
        organization = self.org.organization
        if organization is None:
            condition = true() if self.admin else mine
            if self.org.explicit:  # org="": personal ones only
                condition = condition & Webhook.organization_id.is_(None)
            return condition
        in_org = Webhook.organization_id == organization.id
        if self.admin or (self._role_at_least("maintainer") and has_privilege(self.ctx,
                                                                              "worker")):
            return in_org
        if self.org.role is None:
            raise PermissionDenied()
        return in_org & mine

    def check_create(self, webhook_type: Any, project_owner_id: int | None) -> None:
        """``project_owner_id``: the owner of the named project (None: no project)."""
        if self.admin:
            return
        org = self.org.organization
        project_owner = project_owner_id is not None and project_owner_id == self.me.id
        if webhook_type == "project":
            if org is None:
                allowed = has_privilege(self.ctx, "user") and project_owner
            else:
                allowed = has_privilege(self.ctx, "worker") and (
                    self._role_at_least("maintainer")
                    or self._role_at_least("worker") and project_owner)
        elif webhook_type == "organization":
            allowed = org is not None and has_privilege(self.ctx, "worker") and \
                self._role_at_least("maintainer")
        else:
            allowed = False
        if not allowed:
            raise PermissionDenied()

    def check(self, scope: str, webhook: Any, project_owner_id: int | None) -> None:
        """view, update (PUT/PATCH, ping, redelivery), delete of one webhook."""
        if self.admin:
            return
        owner = webhook.owner_id == self.me.id
        project_owner = project_owner_id is not None and project_owner_id == self.me.id
        worker = has_privilege(self.ctx, "worker")
        org = self.org.organization
        if org is None:  # the personal workspace: owners only, whatever the webhook's org
            allowed = (owner or project_owner) and (scope == "view" or worker)
        elif org.id != webhook.organization_id:
            allowed = False
        elif worker and self._role_at_least("maintainer"):
            allowed = True
        elif scope == "view":
            allowed = self._role_at_least("worker") and (owner or project_owner)
        else:
            allowed = worker and self._role_at_least("worker") and (owner or project_owner)
        if not allowed:
            raise PermissionDenied()


def webhooks(ctx: Context) -> WebhooksPolicy:
    return WebhooksPolicy(ctx)


# --- events (cvat/apps/events/rules/events.rego) -----------------------------------------------
class EventsPolicy:
    """send:events: anyone logged in. dump:events (the CSV): admins; in the personal workspace
    any worker or higher, their own events; in an org its members: owners/maintainers (user
    privilege) the whole org, others their own events there."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.me = ctx.user
        self.admin = is_admin(ctx)
        self.org = ctx.org

    def dump_filter(self) -> dict[str, int]:
        """The column filters the export gets (rego ``filter``); 403 if it may not dump."""
        organization = self.org.organization
        if organization is None:
            if self.admin:
                return {}
            if not has_privilege(self.ctx, "worker"):
                raise PermissionDenied()
            return {"user_id": self.me.id or 0}
        if self.admin:
            return {"org_id": organization.id or 0}
        if not (has_privilege(self.ctx, "worker") and role_at_least(self.org.role, "worker")):
            raise PermissionDenied()
        if role_at_least(self.org.role, "maintainer") and has_privilege(self.ctx, "user"):
            return {"org_id": organization.id or 0}
        return {"user_id": self.me.id or 0, "org_id": organization.id or 0}


def events(ctx: Context) -> EventsPolicy:
    return EventsPolicy(ctx)
# --- growth (cvat/apps/growth/rules/growth.rego, 2.74+) -----------------------------------------
class GrowthPolicy:
    """list: any user; rows: admins all, others their own. view/update: admins, the owner."""

    def __init__(self, ctx: Context) -> None:
        self.me = ctx.user
        self.admin = is_admin(ctx)

    def visible(self) -> Any:
        from mockcvat.models import UserGrowthData

        return true() if self.admin else UserGrowthData.user_id == self.me.id

    def check(self, user_id: int) -> None:
        if not (self.admin or user_id == self.me.id):
            raise PermissionDenied()


def growth(ctx: Context) -> GrowthPolicy:
    return GrowthPolicy(ctx)
# --- quality control, consensus, lambda (cvat/apps/quality_control/rules/*.rego,
# cvat/apps/consensus/rules/consensus_*.rego, cvat/apps/lambda_manager/rules/lambda.rego) -------
class QualityPolicy:
    """Reports and conflicts (``quality_reports.rego``, ``conflicts.rego``): lists for any
    user in the sandbox and for org members, filtered like the tasks they belong to; ``view``
    and ``create`` for the task's staff (owner, assignee, the project's owner or assignee) with
    the ``worker`` privilege (in an org: also its members), and for org maintainers and owners
    with ``user``. Settings (``quality_settings.rego``) and consensus settings and merges
    (``consensus_settings.rego``, ``consensus_merges.rego``) are judged like the task: ``view``
    as the task's ``view``, ``update`` and merges as its ``update:desc``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.engine = engine(ctx)
        self.admin = self.engine.admin

    def check_list(self) -> None:
        org = self.ctx.org
        if org.organization is not None and org.role is None and not self.admin:
            raise PermissionDenied()

    def visible_tasks(self) -> Any:
        """The task ids whose quality objects a list shows."""
        from mockcvat.models import Task

        return select(Task.id).where(self.engine.visible_tasks())

    def allow_report(self, s: Standing) -> bool:
        if self.admin:
            return True
        staff = s.task_staff and has_privilege(self.ctx, "worker")
        if s.organization_id is None:
            return staff
        return (self.engine._maintains(s)
                or staff and role_at_least(s.role, "worker"))

    def check_report(self, s: Standing) -> None:
        self.engine.check(self.allow_report(s))

    def check_task(self, scope: str, s: Standing) -> None:
        self.engine.check(self.engine.allow_task(scope, s))


def quality(ctx: Context) -> QualityPolicy:
    return QualityPolicy(ctx)


class LambdaPolicy:
    """``lambda.rego``: functions may be listed and viewed by any user with the ``worker``
    privilege; calling one (online or as a request) needs ``worker`` and, for the task,
    ``update:annotations`` (the request's own annotations are written as the caller)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def check_view(self) -> None:
        if not (is_admin(self.ctx) or has_privilege(self.ctx, "worker")):
            raise PermissionDenied()

    def check_call(self) -> None:
        self.check_view()


def lambda_functions(ctx: Context) -> LambdaPolicy:
    return LambdaPolicy(ctx)


# --- the rule table (served by GET /api/auth/rules, documented in docs/iam.md) -----------------
ORGANIZATIONS_REGO = "cvat/apps/organizations/rules/organizations.rego"
MEMBERSHIPS_REGO = "cvat/apps/organizations/rules/memberships.rego"
INVITATIONS_REGO = "cvat/apps/organizations/rules/invitations.rego"
REQUESTS_SOURCE = ("cvat/apps/engine/permissions.py: RequestPermission (2.26); "
                   "cvat/apps/redis_handler/rules/requests.rego (later)")
PROJECTS_REGO = "cvat/apps/engine/rules/projects.rego"
QUALITY_REGO = "cvat/apps/quality_control/rules/{quality_settings,quality_reports,conflicts}.rego"
CONSENSUS_REGO = "cvat/apps/consensus/rules/{consensus_settings,consensus_merges}.rego"
LAMBDA_REGO = "cvat/apps/lambda_manager/rules/lambda.rego, permissions.py: LambdaPermission"
TASKS_REGO = "cvat/apps/engine/rules/tasks.rego"
JOBS_REGO = "cvat/apps/engine/rules/jobs.rego"
LABELS_SOURCE = ("cvat/apps/engine/rules/labels.rego; "
                 "cvat/apps/engine/permissions.py: LabelPermission")
WEBHOOKS_REGO = "cvat/apps/webhooks/rules/webhooks.rego"
EVENTS_REGO = "cvat/apps/events/rules/events.rego"
ISSUES_REGO = "cvat/apps/engine/rules/issues.rego"
COMMENTS_REGO = "cvat/apps/engine/rules/comments.rego"
GUIDES_REGO = ("cvat/apps/engine/rules/annotationguides.rego; "
               "cvat/apps/engine/permissions.py: GuideAssetPermission")
GROWTH_REGO = "cvat/apps/growth/rules/growth.rego (2.74+)"
IN_REQUEST_CONTEXT = ("judged in the request's org context: none -> the staff, wherever the "
                      "object is; the object's org -> its owner/maintainer (user) and staff "
                      "who are members; another org -> 403")
ENGINE_ROWS = ("in an org: all of it for admin and owner/maintainer (user privilege), else "
               "the caller's own there; no org: own ones in every workspace (admin: all); "
               "org='': personal ones; non-members naming the org: 403")
ENGINE_DETAIL = "judged in the object's own org, whatever the request names: 403, never 404"
CLOUDSTORAGES_REGO = "cvat/apps/engine/rules/cloudstorages.rego"

RULES: tuple[dict[str, str], ...] = (
    {"resource": "users", "scope": "list", "allow": "any user",
     "rows": "admin: all; others: themselves; in an org: its members (caller must be one)",
     "source": "cvat/apps/engine/rules/users.rego"},
    {"resource": "users", "scope": "view", "allow": "admin, oneself, org members (any user)",
     "rows": "", "source": "cvat/apps/engine/rules/users.rego"},
    {"resource": "users", "scope": "update", "allow": "admin, oneself (not via access token)",
     "rows": "", "source": "cvat/apps/engine/rules/users.rego"},
    {"resource": "users", "scope": "delete", "allow": "admin, oneself (not via access token)",
     "rows": "", "source": "cvat/apps/engine/rules/users.rego"},
    {"resource": "server", "scope": "list:content", "allow": "user privilege or higher",
     "rows": "", "source": "cvat/apps/engine/rules/server.rego"},
    {"resource": "access_tokens", "scope": "list/view/update/delete", "allow": "the owner",
     "rows": "own usable tokens (admins too)",
     "source": "cvat/apps/access_tokens/rules/access_tokens.rego"},
    {"resource": "organizations", "scope": "list", "allow": "any user",
     "rows": "admin: all; others: orgs they own or are active members of (org context ignored)",
     "source": ORGANIZATIONS_REGO},
    {"resource": "organizations", "scope": "create", "allow": "user privilege or higher",
     "rows": "", "source": ORGANIZATIONS_REGO},
    {"resource": "organizations", "scope": "view", "allow": "admin, owner, any active member",
     "rows": "others: 404", "source": ORGANIZATIONS_REGO},
    {"resource": "organizations", "scope": "update", "allow": "admin, owner, maintainer",
     "rows": "supervisor/worker: 403; outsiders: 404", "source": ORGANIZATIONS_REGO},
    {"resource": "organizations", "scope": "delete", "allow": "admin, owner",
     "rows": "members: 403; outsiders: 404", "source": ORGANIZATIONS_REGO},
    {"resource": "memberships", "scope": "list", "allow": "any user; in an org: its members",
     "rows": "no org: own active memberships (admin: all); org: all for admin/owner/maintainer,"
             " active ones for supervisor/worker, 403 for outsiders; org='': none",
     "source": MEMBERSHIPS_REGO},
    {"resource": "memberships", "scope": "view",
     "allow": "admin, owner/maintainer (any), active members (active ones)",
     "rows": "others: 403", "source": MEMBERSHIPS_REGO},
    {"resource": "memberships", "scope": "change:role",
     "allow": "admin; owner (not self, not the owner); maintainer (supervisor/worker targets)",
     "rows": "user privilege; other fields: 403", "source": MEMBERSHIPS_REGO},
    {"resource": "memberships", "scope": "delete",
     "allow": "as change:role; or oneself leaving (not the owner)",
     "rows": "", "source": MEMBERSHIPS_REGO},
    {"resource": "invitations", "scope": "list", "allow": "any user; in an org: its members",
     "rows": "sent or received (admin: all); in an org: all of it for admin and owner/"
             "maintainer, else own ones there; outsiders 403",
     "source": INVITATIONS_REGO},
    {"resource": "invitations", "scope": "create",
     "allow": "admin any role; owner any but owner; maintainer worker/supervisor",
     "rows": "needs an org context", "source": INVITATIONS_REGO},
    {"resource": "invitations", "scope": "view", "allow": "admin, org staff, inviter, invitee",
     "rows": "outside the list's rows: 404", "source": INVITATIONS_REGO},
    {"resource": "invitations", "scope": "resend/delete/update",
     "allow": "admin, org staff, inviter", "rows": "outside the list's rows: 404",
     "source": INVITATIONS_REGO},
    {"resource": "invitations", "scope": "accept/decline", "allow": "admin, invitee",
     "rows": "outside the list's rows: 404", "source": INVITATIONS_REGO},
    {"resource": "requests", "scope": "list", "allow": "any user",
     "rows": "the caller's own requests only (admins too); the org context does not filter, "
             "the org query parameter does", "source": REQUESTS_SOURCE},
    {"resource": "requests", "scope": "view/cancel",
     "allow": "the owner (2.26); the owner and admins (newer releases)",
     "rows": "unknown id: 404; someone else's: 403", "source": REQUESTS_SOURCE},
    # "staff": a project's owner or assignee; a task's owner or assignee or its project's
    # staff; a job's assignee or its task's staff. "(>= worker)": privilege worker or higher.
    {"resource": "projects", "scope": "list", "allow": "any user; in an org its members",
     "rows": "own = owner or assignee; " + ENGINE_ROWS, "source": PROJECTS_REGO},
    {"resource": "projects", "scope": "create/import:backup",
     "allow": "user privilege; in an org supervisor or higher", "rows": "",
     "source": PROJECTS_REGO},
    {"resource": "projects", "scope": "view/export",
     "allow": "admin, staff (org members), org owner/maintainer (user privilege)",
     "rows": ENGINE_DETAIL, "source": PROJECTS_REGO},
    {"resource": "projects", "scope": "update:desc/import:dataset",
     "allow": "as view, staff need >= worker", "rows": ENGINE_DETAIL, "source": PROJECTS_REGO},
    {"resource": "projects", "scope": "update:assignee/delete/update:organization/"
                                      "update:associated_storage",
     "allow": "admin, the owner (>= worker; org member), org owner/maintainer (user)",
     "rows": ENGINE_DETAIL, "source": PROJECTS_REGO},
    {"resource": "projects", "scope": "update:owner",
     "allow": "admin; in an org only: owner/maintainer (user, or >= worker owning it)",
     "rows": ENGINE_DETAIL, "source": PROJECTS_REGO},
    {"resource": "tasks", "scope": "list", "allow": "any user; in an org its members",
     "rows": "own = task staff; " + ENGINE_ROWS, "source": TASKS_REGO},
    {"resource": "tasks", "scope": "create/import:backup",
     "allow": "user privilege; in an org supervisor or higher", "rows": "",
     "source": TASKS_REGO},
    {"resource": "tasks", "scope": "create@project",
     "allow": "user privilege and the project's view in the request's context: no org: "
              "project staff; org (the project's): owner/maintainer or project staff",
     "rows": "project of another workspace: 403 (no org: 400 after the check)",
     "source": TASKS_REGO},
    {"resource": "tasks", "scope": "view/view:data/view:metadata/view:annotations/export",
     "allow": "admin, task staff (org members), org owner/maintainer (user)",
     "rows": ENGINE_DETAIL, "source": TASKS_REGO},
    {"resource": "tasks", "scope": "update:desc/upload:data/update:metadata/annotations",
     "allow": "as view, staff need >= worker", "rows": ENGINE_DETAIL, "source": TASKS_REGO},
    {"resource": "tasks", "scope": "update:owner/update:assignee/update:project/delete",
     "allow": "admin, task owner or project staff (>= worker), org owner/maintainer (user)",
     "rows": ENGINE_DETAIL, "source": TASKS_REGO},
    {"resource": "jobs", "scope": "list", "allow": "any user; in an org its members",
     "rows": "own = job staff; " + ENGINE_ROWS, "source": JOBS_REGO},
    {"resource": "jobs", "scope": "view/view:data/view:metadata/view:annotations/export",
     "allow": "admin, job staff (org members), org owner/maintainer (user), the lone "
              "assignee (worker privilege, no role in the org; not export)",
     "rows": ENGINE_DETAIL, "source": JOBS_REGO},
    {"resource": "jobs", "scope": "update:state/update:annotations/update:metadata",
     "allow": "as view, staff need >= worker; the lone assignee too",
     "rows": ENGINE_DETAIL, "source": JOBS_REGO},
    {"resource": "jobs", "scope": "update:stage/update:assignee",
     "allow": "admin, task staff (>= worker; org members), org owner/maintainer (user)",
     "rows": ENGINE_DETAIL, "source": JOBS_REGO},
    {"resource": "jobs", "scope": "create/delete",
     "allow": "admin, task staff (user; in an org supervisor+), org owner/maintainer (user)",
     "rows": "only ground-truth jobs are deleted (else 400)", "source": JOBS_REGO},
    {"resource": "webhooks", "scope": "list", "allow": "any user; in an org its members",
     "rows": "no org: own ones or of own projects (admin: all); org: all of it for admin and "
             "owner/maintainer, else own ones there", "source": WEBHOOKS_REGO},
    {"resource": "webhooks", "scope": "create@project",
     "allow": "admin; no org: the project's owner (user privilege); org: owner/maintainer, or "
              "a member owning the project", "rows": "project view needed; unknown project: "
              "400", "source": WEBHOOKS_REGO},
    {"resource": "webhooks", "scope": "create@organization",
     "allow": "admin; in an org its owner/maintainer", "rows": "no org: admins only (400)",
     "source": WEBHOOKS_REGO},
    {"resource": "webhooks", "scope": "view",
     "allow": "admin; the webhook's or its project's owner; org owner/maintainer",
     "rows": "judged in the request's org: another org's webhook is 403",
     "source": WEBHOOKS_REGO},
    {"resource": "webhooks", "scope": "update/delete/ping/redelivery",
     "allow": "as view, owners need >= worker privilege", "rows": "",
     "source": WEBHOOKS_REGO},
    {"resource": "events", "scope": "send:events", "allow": "any user", "rows": "",
     "source": EVENTS_REGO},
    {"resource": "events", "scope": "dump:events",
     "allow": "admin; no org: >= worker privilege; org: members (>= worker)",
     "rows": "no org: own events (admin: all); org: all of it for admin and owner/maintainer "
             "(user privilege), else own events there", "source": EVENTS_REGO},
    {"resource": "analytics_reports", "scope": "list/create",
     "allow": "list: >= worker privilege; create: >= user; and the target's view (2.26)",
     "rows": "unknown target: 404", "source": "cvat/apps/analytics_report/rules/"
                                               "analytics_reports.rego"},
    {"resource": "labels", "scope": "list", "allow": "any user; in an org its members",
     "rows": "own = labels of projects/tasks the caller is staff of; " + ENGINE_ROWS
             + "; task_id/project_id/job_id: that object's view (403), all its labels",
     "source": LABELS_SOURCE},
    {"resource": "cloudstorages", "scope": "list", "allow": "any user; in an org its members",
     "rows": "own = owned by the caller; in an org: all of it for admin and supervisor and up "
             "(user privilege), else own ones there; no org: own ones (admin: all)",
     "source": CLOUDSTORAGES_REGO},
    {"resource": "cloudstorages", "scope": "create",
     "allow": "user privilege; in an org maintainer or owner", "rows": "",
     "source": CLOUDSTORAGES_REGO},
    {"resource": "cloudstorages", "scope": "view/list:content/status/preview/actions",
     "allow": "admin, the owner (org member), org supervisor and up (user privilege)",
     "rows": ENGINE_DETAIL, "source": CLOUDSTORAGES_REGO},
    {"resource": "cloudstorages", "scope": "update/delete",
     "allow": "admin, the owner (>= worker; org member), org maintainer and up (user)",
     "rows": ENGINE_DETAIL, "source": CLOUDSTORAGES_REGO},
    {"resource": "cloudstorages", "scope": "use (cloud_storage_id of task data, storages, "
                                           "exports, imports)",
     "allow": "view judged in the task's or project's workspace: sandbox: the owner; org: "
              "same org, owner or supervisor and up",
     "rows": "unknown id: 400; denied: 403", "source": CLOUDSTORAGES_REGO},
    {"resource": "labels", "scope": "view/update/delete",
     "allow": "the owning project's or task's view / update:desc", "rows": ENGINE_DETAIL,
     "source": LABELS_SOURCE},
    # issue staff: the job's staff, the issue's owner and assignee; issue admin: the task's
    # staff and the issue's owner; comment staff: the issue's staff and the comment's owner
    {"resource": "issues", "scope": "list", "allow": "any user; in an org its members",
     "rows": "own = issues the caller owns, is assigned to, or whose job they are staff of; "
             + ENGINE_ROWS, "source": ISSUES_REGO},
    {"resource": "issues", "scope": "create@job",
     "allow": "the job's staff (>= worker); in the job's org its owner/maintainer (user)",
     "rows": IN_REQUEST_CONTEXT + "; an assignee needs users.rego view", "source": ISSUES_REGO},
    {"resource": "issues", "scope": "view",
     "allow": "admin, issue staff (org members), org owner/maintainer (user)",
     "rows": ENGINE_DETAIL, "source": ISSUES_REGO},
    {"resource": "issues", "scope": "update",
     "allow": "as view, staff need >= worker", "rows": ENGINE_DETAIL, "source": ISSUES_REGO},
    {"resource": "issues", "scope": "delete",
     "allow": "admin, issue admin (>= worker; org members), org owner/maintainer (user)",
     "rows": ENGINE_DETAIL, "source": ISSUES_REGO},
    {"resource": "comments", "scope": "list", "allow": "any user; in an org its members",
     "rows": "own = the caller's comments and those on issues they are staff of; "
             + ENGINE_ROWS, "source": COMMENTS_REGO},
    {"resource": "comments", "scope": "create@issue",
     "allow": "the issue's staff (>= worker); in its org its owner/maintainer (user)",
     "rows": IN_REQUEST_CONTEXT, "source": COMMENTS_REGO},
    {"resource": "comments", "scope": "view/update/delete",
     "allow": "admin, comment staff (org members; >= worker to change), org owner/maintainer "
              "(user)", "rows": ENGINE_DETAIL, "source": COMMENTS_REGO},
    {"resource": "guides", "scope": "create",
     "allow": "the target task's/project's owner or assignee (user); in its org its "
              "owner/maintainer (user)", "rows": IN_REQUEST_CONTEXT, "source": GUIDES_REGO},
    {"resource": "guides", "scope": "view",
     "allow": "admin, the target's owner/assignee or anyone with a task or job in it (>= "
              "worker; org members), org owner/maintainer (user)",
     "rows": ENGINE_DETAIL, "source": GUIDES_REGO},
    {"resource": "guides", "scope": "update/delete",
     "allow": "admin, the target's owner/assignee (user; org members), org owner/maintainer "
              "(user)", "rows": ENGINE_DETAIL, "source": GUIDES_REGO},
    {"resource": "assets", "scope": "create/view/delete",
     "allow": "the guide's update (create: in the request's context) / view / update",
     "rows": "anonymous view: 401 (404 for an unknown uuid)", "source": GUIDES_REGO},
    {"resource": "growth", "scope": "list/view/update",
     "allow": "any user / the owner and admins",
     "rows": "own row (made on first request); admins: every row", "source": GROWTH_REGO},
    {"resource": "quality_settings", "scope": "list", "allow": "any user; in an org its members",
     "rows": "settings of the tasks (and projects) the caller sees", "source": QUALITY_REGO},
    {"resource": "quality_settings", "scope": "view/update",
     "allow": "the task's view / update:desc (a project's for project settings)",
     "rows": "", "source": QUALITY_REGO},
    {"resource": "quality_reports", "scope": "list", "allow": "any user; in an org its members",
     "rows": "reports (and conflicts) of the tasks the caller sees", "source": QUALITY_REGO},
    {"resource": "quality_reports", "scope": "create/view",
     "allow": "admin; task staff with worker privilege (in an org: members); org "
              "owner/maintainer with user privilege", "rows": "", "source": QUALITY_REGO},
    {"resource": "consensus_settings", "scope": "list/view/update",
     "allow": "as quality settings", "rows": "", "source": CONSENSUS_REGO},
    {"resource": "consensus_merges", "scope": "create", "allow": "the task's update:desc",
     "rows": "", "source": CONSENSUS_REGO},
    {"resource": "lambda", "scope": "list/view/call", "allow": "worker privilege; a call also "
     "needs update:annotations of its task or job", "rows": "", "source": LAMBDA_REGO},
)


def rules_bundle() -> tuple[bytes, str]:
    """The policy as a gzip'ed tar (CVAT serves its OPA bundle here) and its ETag.

    mockcvat's rules are Python, not Rego; the bundle holds them as ``rules/mockcvat.json``.
    """
    import gzip
    import hashlib
    import io
    import json
    import tarfile

    payload = json.dumps({"rules": list(RULES)}, indent=2).encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("rules/mockcvat.json")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    bundle = gzip.compress(raw.getvalue(), mtime=0)
    return bundle, '"' + hashlib.blake2b(bundle).hexdigest() + '"'
