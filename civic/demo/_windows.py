"""Ratings at the public service windows: the windows already registered, or (in an empty
database) two per agency in the city's service hall, added as `civicbot window add`
adds them; then ratings on working days and hours, each window as good as the seed made
it, on the star or the municipal scale, some with a comment. Every rater is a citizen of
their own who scanned the window's code, once that day."""

from __future__ import annotations

import random
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.city import Profile
from civic.demo._answers import tilted
from civic.demo._calendar import Year, moment, spread, times_in_day
from civic.demo._citizens import COLUMNS as CITIZEN_COLUMNS
from civic.demo._citizens import citizen_row, language, level
from civic.demo._texts import Texts
from civic.i18n import DEFAULT_LANGUAGE
from civic.identity import ACCOUNT, ANONYMOUS, VERIFIED_PHONE
from storage.bulk import BulkLoad
from storage.models import Citizen, ServiceWindow, WindowRating
from storage.windows import HANGZHOU_SCORES, STAR_SCORES, add_window

COLUMNS = (
    "id", "window_id", "citizen_id", "day", "scale", "score", "comment", "assurance",
    "held", "created_at",
)  # fmt: skip
WINDOWS_PER_AGENCY = 2
# The hall is open on working days, Saturday mornings less busy.
HALL_HOURS = (0,) * 9 + (1.0, 1.4, 1.2, 0.6, 0.9, 1.2, 1.1, 0.8) + (0,) * 7
SATURDAY = 0.4
STARS = 0.7  # ratings on the star scale; the rest on the municipal one
COMMENTED = 0.12
RATER_LEVELS = ((ANONYMOUS, 0.3), (ACCOUNT, 0.5), (VERIFIED_PHONE, 0.2))
HANGZHOU_POINTS = {"satisfied": 100.0, "basically_satisfied": 80.0, "dissatisfied": 0.0}
CHUNK = 20_000


def service_windows(*, session: Session, profile: Profile, texts: Texts) -> list[ServiceWindow]:
    """The registered windows; in a database with none, two per agency in the hall."""
    found = list(session.scalars(select(ServiceWindow).order_by(ServiceWindow.id)))
    if found:
        return found
    hall = texts.one("demo.hall", DEFAULT_LANGUAGE)
    return [
        add_window(session=session, agency=agency, hall=hall, number=f"{n:02d}")
        for agency in profile.agencies
        for n in range(1, WINDOWS_PER_AGENCY + 1)
    ]


def _day_weights(year: Year) -> list[float]:
    weights = []
    for day in year.days():
        weekday = day.weekday()
        weights.append(0.0 if weekday == 6 else SATURDAY if weekday == 5 else 1.0)
    return weights


def write_ratings(
    *,
    load: BulkLoad,
    year: Year,
    texts: Texts,
    rng: random.Random,
    windows: Sequence[ServiceWindow],
    count: int,
) -> int:
    """`count` ratings over the year's opening hours; the number written."""
    quality = {w.id: round(rng.uniform(3.4, 4.8), 2) for w in windows}  # each window's mean stars
    moments: list[float] = []
    for day, n in zip(year.days(), spread(count, _day_weights(year)), strict=True):
        moments += times_in_day(rng, year, day, n, HALL_HOURS)
    written = 0
    for start in range(0, len(moments), CHUNK):
        batch = moments[start : start + CHUNK]
        chosen = rng.choices(list(windows), k=len(batch))
        written += _write(load, year, texts, rng, list(zip(batch, chosen, strict=True)), quality)
    return written


def _write(
    load: BulkLoad,
    year: Year,
    texts: Texts,
    rng: random.Random,
    batch: list[tuple[float, ServiceWindow]],
    quality: dict[int, float],
) -> int:
    citizen_ids = load.ids(Citizen, len(batch))
    rating_ids = load.ids(WindowRating, len(batch))
    citizens, ratings = [], []
    for citizen_id, rating_id, (at, window) in zip(citizen_ids, rating_ids, batch, strict=True):
        lang, rater = language(rng), level(rng, RATER_LEVELS)
        citizens.append(citizen_row(rng, citizen_id, lang, rater, at - rng.uniform(20, 120)))
        scale, score, good = _score(rng, quality[window.id])
        comment = None
        if rng.random() < COMMENTED:
            comment = texts.pick(rng, f"demo.window.{'good' if good else 'bad'}", lang)
        ratings.append(
            (rating_id, window.id, citizen_id, year.local_day(at), scale, score, comment,
             rater, False, moment(at))
        )  # fmt: skip
    load.insert(Citizen, CITIZEN_COLUMNS, citizens)
    return load.insert(WindowRating, COLUMNS, ratings)


def _score(rng: random.Random, stars: float) -> tuple[str, str, bool]:
    """(scale, score, a good one?) for a window whose mean is `stars`."""
    if rng.random() < STARS:
        points = tuple(float(s) for s in STAR_SCORES)
        score = rng.choices(STAR_SCORES, weights=tilted(points, stars))[0]
        return "stars", score, int(score) >= 4
    mean = 100 * (stars - 1) / 4
    points = tuple(HANGZHOU_POINTS[s] for s in HANGZHOU_SCORES)
    score = rng.choices(HANGZHOU_SCORES, weights=tilted(points, round(mean, 1)))[0]
    return "hangzhou", score, score != "dissatisfied"
