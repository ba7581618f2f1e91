"""HTTP layer: one module per OpenAPI tag, each an ``Api`` of thin operation handlers."""

from __future__ import annotations

from mockcvat.api import Operation


def operations() -> list[Operation]:
    """Every operation mockcvat implements, in every CVAT version it knows."""
    from mockcvat.routes import (
        analytics,
        assets,
        auth,
        backups,
        cloudstorages,
        comments,
        consensus,
        events,
        growth,
        guides,
        invitations,
        issues,
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
        webhooks,
    )

    modules = (auth, users, server, schema, organizations, memberships, invitations,
               requests, projects, tasks, jobs, labels, backups, cloudstorages, webhooks,
               events, analytics, issues, comments, guides, assets, growth, quality, lambda_,
               consensus)
    # a module serves one tag (``api``), or several (``apis``: e.g. backups of tasks and projects)
    return [op for module in modules for api in (getattr(module, "apis", None) or [module.api])
            for op in api.operations]
