"""Public service windows and the ratings citizens give them on the spot."""

from __future__ import annotations

from datetime import datetime
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
) -> WindowRating | None:
    """Record today's rating; None when this citizen already rated this window today."""
    valid = STAR_SCORES if scale == "stars" else HANGZHOU_SCORES
    if score not in valid:
        raise ValueError(f"{score!r} is not a score on the {scale} scale")
    if todays_rating(session=session, window_id=window.id, citizen_id=citizen_id, day=day):
        return None
    rating = WindowRating(
        window_id=window.id,
        citizen_id=citizen_id,
        day=day,
        scale=scale,
        score=score,
        created_at=now,
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


def window_summary(*, session: Session, agency: str | None) -> list[dict[str, object]]:
    """Per window: the number of ratings and the star average / Hangzhou-scale counts."""
    query = (
        select(ServiceWindow, WindowRating.scale, WindowRating.score, func.count())
        .join(WindowRating, WindowRating.window_id == ServiceWindow.id)
        .group_by(ServiceWindow.id, WindowRating.scale, WindowRating.score)
        .order_by(ServiceWindow.id)
    )
    if agency is not None:
        query = query.where(ServiceWindow.agency == agency)
    summary: dict[int, dict[str, object]] = {}
    for window, scale, score, count in session.execute(query):
        entry = summary.setdefault(
            window.id, {"window": window, "ratings": 0, "stars": [], "hangzhou": {}}
        )
        entry["ratings"] = int(entry["ratings"]) + count  # type: ignore[call-overload]
        if scale == "stars":
            entry["stars"] += [int(score)] * count  # type: ignore[operator]
        else:
            entry["hangzhou"][score] = count  # type: ignore[index]
    return list(summary.values())
