"""Alembic's environment: always run from ``mockcvat.migrations`` on a given connection."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import mockcvat.models  # noqa: F401  (registers the tables)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("mockcvat's migrations run through mockcvat.migrations, on a connection")
context.configure(connection=connection, target_metadata=SQLModel.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
