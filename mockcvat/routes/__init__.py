"""HTTP layer: one module per OpenAPI tag, each an ``Api`` of thin operation handlers."""

from __future__ import annotations

from mockcvat.api import Operation


def operations() -> list[Operation]:
    """Every operation mockcvat implements, in every CVAT version it knows."""
    from mockcvat.routes import (
        auth,
        backups,
        consensus,
        invitations,
        jobs,
        labels,
        lambda_,
        memberships,
        organizations,
        projects,
        quality,
        requests,
        schema,
        server,
        tasks,
        users,
    )

    modules = (auth, users, server, schema, organizations, memberships, invitations,
               requests, projects, tasks, jobs, labels, backups, quality, lambda_,
               consensus)
    # a module serves one tag (``api``), or several (``apis``: e.g. backups of tasks and projects)
    return [op for module in modules for api in (getattr(module, "apis", None) or [module.api])
            for op in api.operations]
