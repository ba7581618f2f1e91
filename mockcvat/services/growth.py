"""The growth app (CVAT 2.74+, ``UserGrowthDataViewSet``): whether the UI may show a user the
"star us on GitHub" prompt.

Every request to ``/api/growth`` first makes sure the caller has a row (``get_or_create``, with
``github_prompt_shown_at`` = the date they joined), so a new user's prompt starts on its 30-day
cooldown. ``github_prompt_enabled`` is CVAT's default policy (``EnabledGitHubStarPromptPolicy``):
notifications allowed, support not yet clicked, cooldown over.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from mockcvat import iam, listing
from mockcvat.errors import NotFound
from mockcvat.jsonlogic import FilterField
from mockcvat.models import User, UserGrowthData
from mockcvat.models.users import utcnow
from mockcvat.schemas.growth import UserGrowthData as UserGrowthDataSerializer
from mockcvat.services.users import basic_users

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context

COOLDOWN = dt.timedelta(days=30)  # GITHUB_STAR_PROMPT_COOLDOWN

LISTING = listing.Listing(
    fields={
        "id": FilterField("id", UserGrowthData.id, "int"),
        "user_id": FilterField("user_id", UserGrowthData.user_id, "int"),
    },
    filter_fields=("id", "user_id"),
    ordering_fields=("id",),
    default_ordering=("id",),
    org_scoped=False,
)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def on_cooldown(row: Any, now: dt.datetime) -> bool:
    shown = row.github_prompt_shown_at
    return shown is not None and now < _aware(shown) + COOLDOWN


def payloads(ctx: Context, db: Any, rows: list[Any]) -> list[dict[str, Any]]:
    people = basic_users(ctx, db, [r.user_id for r in rows])
    now = utcnow()
    return [UserGrowthDataSerializer.dump({
        "id": r.id, "owner": people.get(r.user_id),
        "github_prompt_shown": on_cooldown(r, now),
        "github_prompt_support_clicked": r.github_prompt_support_clicked,
        "github_prompt_enabled": (r.promotion_notifications_allowed
                                  and not r.github_prompt_support_clicked
                                  and not on_cooldown(r, now)),
        "promotion_notifications_allowed": r.promotion_notifications_allowed,
    }) or {} for r in rows]


def _ensure_own_row(ctx: Context, db: Session) -> None:
    me = ctx.user
    if db.execute(select(UserGrowthData.id).where(UserGrowthData.user_id == me.id)).first():
        return
    joined = db.get(User, me.id)
    db.add(UserGrowthData(user_id=me.id or 0,
                          github_prompt_shown_at=joined.date_joined if joined else utcnow()))
    db.flush()


def list_growth(ctx: Context) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        _ensure_own_row(ctx, db)
        query = select(*UserGrowthData.__table__.columns).where(iam.growth(ctx).visible())
        page = listing.paginate(db.connection(), query, LISTING, ctx.params, ctx.url,
                                pk=UserGrowthData.id)
        return page.body(payloads(ctx, db, page.rows))


def _load(ctx: Context, db: Session, raw_id: str) -> UserGrowthData:
    _ensure_own_row(ctx, db)
    try:
        pk = int(raw_id)
    except ValueError:
        raise NotFound() from None  # DRF's get_object_or_404 on a lookup that is no id
    row = db.get(UserGrowthData, pk) if 0 <= pk < 2**63 else None
    if row is None:
        raise NotFound("No UserGrowthData matches the given query.")
    iam.growth(ctx).check(row.user_id)
    return row


def retrieve(ctx: Context, raw_id: str) -> dict[str, Any]:
    with ctx.mock.db.session() as db:
        return payloads(ctx, db, [_load(ctx, db, raw_id)])[0]


def update(ctx: Context, raw_id: str, raw: Any) -> dict[str, Any]:
    """``github_prompt_shown`` (true: shown now), ``github_prompt_support_clicked`` (true),
    ``promotion_notifications_allowed``."""
    with ctx.mock.db.session() as db:
        row = _load(ctx, db, raw_id)
        data = UserGrowthDataSerializer.validate(raw, partial=True)
        if data.get("github_prompt_shown"):
            row.github_prompt_shown_at = utcnow()
        if data.get("github_prompt_support_clicked"):
            row.github_prompt_support_clicked = True
        if "promotion_notifications_allowed" in data:
            row.promotion_notifications_allowed = data["promotion_notifications_allowed"]
        db.add(row)
        db.flush()
        return payloads(ctx, db, [row])[0]
