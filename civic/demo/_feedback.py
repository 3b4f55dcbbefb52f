"""Praise and suggestions that follow the year's tickets: praise from reporters who were
satisfied, a little after their ticket closed, naming the agency that helped them;
suggestions to an agency from reporters some days after they filed, most of the older
ones read by the agency."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from civic.city import Profile
from civic.demo._calendar import DAY, HOUR, Year, moment
from civic.demo._texts import Texts
from civic.demo._tickets import Keepsake
from storage.bulk import BulkLoad
from storage.models import Feedback

COLUMNS = (
    "id", "kind", "citizen_id", "text", "language", "agency", "district", "ticket_id",
    "assurance", "created_at", "read_at",
)  # fmt: skip
READ = 0.8  # of the suggestions older than two weeks, read by the agency


@dataclass(frozen=True)
class _Draft:
    kind: str
    about: Keepsake
    text: str
    at: float
    read: float | None = None
    ticket_id: int | None = None


def write_feedback(
    *,
    load: BulkLoad,
    profile: Profile,
    year: Year,
    texts: Texts,
    rng: random.Random,
    keepsakes: Sequence[Keepsake],
    count: int,
) -> int:
    """About `count` praise and as many suggestions; the number written."""
    happy = [k for k in keepsakes if k.satisfaction == "satisfied" and k.closed is not None]
    drafts = [_praise(rng, texts, profile, k) for k in happy[:count]]
    praised = {d.about.ticket_id for d in drafts}
    others = [k for k in keepsakes if k.ticket_id not in praised]
    drafts += [_suggestion(rng, texts, profile, k) for k in others[:count]]
    drafts = [d for d in drafts if d.at < year.end]
    ids = load.ids(Feedback, len(drafts))
    rows = []
    for feedback_id, d in zip(ids, drafts, strict=True):
        k = d.about
        read = moment(d.read) if d.read is not None and d.read < year.end else None
        rows.append(
            (feedback_id, d.kind, k.citizen_id, d.text, k.language, k.agency, k.district,
             d.ticket_id, k.assurance, moment(d.at), read)
        )  # fmt: skip
    return load.insert(Feedback, COLUMNS, rows)


def _praise(rng: random.Random, texts: Texts, profile: Profile, k: Keepsake) -> _Draft:
    agency = profile.agencies[k.agency].label(k.language)
    text = texts.pick(rng, "demo.praise", k.language, agency=agency)
    at = (k.closed or k.filed) + HOUR * rng.lognormvariate(0.5, 1.0)
    return _Draft("praise", k, text, at, ticket_id=k.ticket_id)


def _suggestion(rng: random.Random, texts: Texts, profile: Profile, k: Keepsake) -> _Draft:
    agency = profile.agencies[k.agency].label(k.language)
    text = texts.pick(rng, "demo.suggestion", k.language, agency=agency)
    at = k.filed + rng.uniform(1, 30) * DAY
    read = at + rng.uniform(0.5, 10) * DAY if rng.random() < READ else None
    return _Draft("suggestion", k, text, at, read=read)
