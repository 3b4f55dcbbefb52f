"""The declarative `Base` every model shares, `utcnow` for timestamp defaults, and the
vocabulary that marks columns holding personal data."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import DeclarativeBase

# A column that holds personal data says so: `mapped_column(..., info={"personal": KIND})`.
# The kind says what "delete my data" does to it; `civic.privacy` holds the one table of
# rules that does it, and a test fails when a marked column has no rule there.
PERSONAL_KINDS: dict[str, str] = {
    "erase": "reaches or identifies the person: removed (the value, or the whole row)",
    "redact": "free text the city still works from: kept with phone, ID-card and house "
    "numbers and e-mail addresses masked",
    "coarsen": "a place: kept only roughly (the position to about 100 m, the road)",
    "unlink": "the link to the citizen: cut (set to NULL, or the row removed)",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass
