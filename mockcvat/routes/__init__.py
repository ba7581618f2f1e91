"""HTTP layer: one module per OpenAPI tag, each an ``Api`` of thin operation handlers."""

from __future__ import annotations

from mockcvat.api import Operation


def operations() -> list[Operation]:
    """Every operation mockcvat implements, in every CVAT version it knows."""
    from mockcvat.routes import auth, schema, server, users

    return [op for module in (auth, users, server, schema) for op in module.api.operations]
