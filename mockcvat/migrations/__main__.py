"""``python -m mockcvat.migrations revision "message"`` (``make migration``): autogenerate the
next revision by comparing the models with a scratch SQLite database at the newest one."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from mockcvat import migrations
from mockcvat.db import _never_reuse_ids


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "revision" or not argv[1].strip():
        print(  # noqa: T201
        'usage: python -m mockcvat.migrations revision "what changed"', file=sys.stderr)
        return 2
    _never_reuse_ids()
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{Path(folder) / 'scratch.sqlite3'}")
        with engine.begin() as connection:
            command.upgrade(migrations.config(connection), "head")
            number = len(list((Path(migrations.__file__).parent / "versions").glob("0*.py")))
            command.revision(migrations.config(connection), message=argv[1], autogenerate=True,
                             rev_id=f"{number + 1:04d}")
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
