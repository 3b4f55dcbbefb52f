"""Public service windows and the ratings citizens give them on the spot."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import ServiceWindow, WindowRating

STAR_SCORES = ("1", "2", "3", "4", "5")
HANGZHOU_SCORES = ("satisfied", "basically_satisfied", "dissatisfied")


def add_window(*, session: Session, agency: str, hall: str, number: str) -> ServiceWindow:
    window = ServiceWindow(
        code=f"{agency}:{hall}:{number}"[:32], agency=agency, hall=hall, number=number
    )
    session.add(window)
    session.flush()
    return window


def local_day(now: datetime, timezone: str) -> str:
    return now.astimezone(ZoneInfo(timezone)).date().isoformat()


def todays_rating(
    *, session: Session, window_id: int, citizen_id: int, day: str
) -> WindowRating | None:
    return session.scalars(
        select(WindowRating).where(
            WindowRating.window_id == window_id,
            WindowRating.citizen_id == citizen_id,
            WindowRating.day == day,
        )
    ).first()


def rate_window(
    *,
    session: Session,
    window: ServiceWindow,
    citizen_id: int,
    day: str,
    scale: str,
    score: str,
    now: datetime,
    assurance: str = "anonymous",
    hourly_limit: int | None = None,
) -> WindowRating | None:
    """Record today's rating; None when this citizen already rated this window today.

    With `hourly_limit`, a rating arriving when the window already has that many in the
    past hour is kept but held for review: more than a counter can serve is not
    plausible."""
    valid = STAR_SCORES if scale == "stars" else HANGZHOU_SCORES
    if score not in valid:
        raise ValueError(f"{score!r} is not a score on the {scale} scale")
    if todays_rating(session=session, window_id=window.id, citizen_id=citizen_id, day=day):
        return None
    held = (
        hourly_limit is not None
        and ratings_since(session=session, window_id=window.id, since=now - timedelta(hours=1))
        >= hourly_limit
    )
    rating = WindowRating(
        window_id=window.id,
        citizen_id=citizen_id,
        day=day,
        scale=scale,
        score=score,
        created_at=now,
        assurance=assurance,
        held=held,
    )
    try:
        with session.begin_nested():
            session.add(rating)
    except IntegrityError:  # the same tap arriving twice at once
        return None
    return rating


def awaiting_comment(*, session: Session, citizen_id: int, since: datetime) -> WindowRating | None:
    """The citizen's rating given since `since` that has no comment yet."""
    return session.scalars(
        select(WindowRating)
        .where(
            WindowRating.citizen_id == citizen_id,
            WindowRating.comment.is_(None),
            WindowRating.created_at >= since,
        )
        .order_by(WindowRating.id.desc())
    ).first()


def ratings_since(*, session: Session, window_id: int, since: datetime) -> int:
    """How many ratings (held ones included) the window received since `since`."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(WindowRating)
            .where(WindowRating.window_id == window_id, WindowRating.created_at >= since)
        )
        or 0
    )


def revoke_codes(*, session: Session, window: ServiceWindow) -> int:
    """Make every QR code issued for the window invalid; returns the new code serial."""
    window.token_serial = (window.token_serial or 1) + 1
    return window.token_serial


def review_held(*, session: Session, window_id: int, release: bool) -> int:
    """Release the window's held ratings into its figures, or discard them; the count."""
    held = list(
        session.scalars(
            select(WindowRating).where(
                WindowRating.window_id == window_id, WindowRating.held.is_(True)
            )
        )
    )
    for rating in held:
        if release:
            rating.held = False
        else:
            session.delete(rating)
    return len(held)


def window_summary(
    *, session: Session, agency: str | None, counted: Collection[str]
) -> list[dict[str, object]]:
    """Per window: its figures from ratings at the `counted` assurance levels (the number,
    the star average, the Hangzhou-scale counts), the number of ratings at every level,
    and the number held for review. Held ratings and uncounted levels are never mixed
    into the figures."""
    query = (
        select(
            ServiceWindow,
            WindowRating.assurance,
            WindowRating.held,
            WindowRating.scale,
            WindowRating.score,
            func.count(),
        )
        .join(WindowRating, WindowRating.window_id == ServiceWindow.id)
        .group_by(
            ServiceWindow.id,
            WindowRating.assurance,
            WindowRating.held,
            WindowRating.scale,
            WindowRating.score,
        )
        .order_by(ServiceWindow.id)
    )
    if agency is not None:
        query = query.where(ServiceWindow.agency == agency)
    summary: dict[int, dict[str, object]] = {}
    for window, level, held, scale, score, count in session.execute(query):
        entry = summary.setdefault(
            window.id,
            {"window": window, "ratings": 0, "stars": [], "hangzhou": {}, "levels": {}, "held": 0},
        )
        if held:
            entry["held"] = int(entry["held"]) + count  # type: ignore[call-overload]
            continue
        levels = entry["levels"]
        levels[level] = levels.get(level, 0) + count  # type: ignore[union-attr,index,attr-defined]
        if level not in counted:
            continue
        entry["ratings"] = int(entry["ratings"]) + count  # type: ignore[call-overload]
        if scale == "stars":
            entry["stars"] += [int(score)] * count  # type: ignore[operator]
        else:
            hangzhou = entry["hangzhou"]
            hangzhou[score] = hangzhou.get(score, 0) + count  # type: ignore[union-attr,index,attr-defined]
    return list(summary.values())
