"""Two generated years of comments for the notices' tests, and the desk users who act on
notices.

Health Commission (`health`), 100 comments a year:

    code                    2025   2026
    hospital-registration     20     40   share 20% -> 40%: doubled, 40 >= 30 comments
    medical-cost              10     12   grew by a fifth only
    scan-appointments          2     10   grew fivefold, but on 10 comments
    (no code)                 68     38

Transport (`transport`), 60 a year: bus-frequency 30 -> 35 (share +17%), the rest uncoded.

Each code's comments are spread over the months in turn (January first), so the 40 of
2026 are 4 in each of January to April and 3 in every other month.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from civic.city import Profile
from civic.notices import NoticeRules, load_notice_rules, notice_rules_path, propose_notices
from civic.opinion import Codebook, codebook_path, load_codebook
from storage.models import AgencyUser, Comment, CommentCode, Notice

HEALTH, TRANSPORT = "health", "transport"
REGISTRATION = "hospital-registration"
SPEC: list[tuple[str, int, str | None, int]] = [
    # (agency, year, code or None, how many)
    (HEALTH, 2025, REGISTRATION, 20),
    (HEALTH, 2025, "medical-cost", 10),
    (HEALTH, 2025, "scan-appointments", 2),
    (HEALTH, 2025, None, 68),
    (HEALTH, 2026, REGISTRATION, 40),
    (HEALTH, 2026, "medical-cost", 12),
    (HEALTH, 2026, "scan-appointments", 10),
    (HEALTH, 2026, None, 38),
    (TRANSPORT, 2025, "bus-frequency", 30),
    (TRANSPORT, 2025, None, 30),
    (TRANSPORT, 2026, "bus-frequency", 35),
    (TRANSPORT, 2026, None, 25),
]
USERS = [
    # (username, agency, role)
    ("office", None, "staff"),
    ("office2", None, "staff"),
    ("health.coord", HEALTH, "coordinator"),
    ("health.super", HEALTH, "supervisor"),
    ("health.officer", HEALTH, "officer"),
    ("transport.coord", TRANSPORT, "coordinator"),
]
TODAY = date(2027, 1, 10)


def add_comments(session: Session) -> None:
    source_id = 1
    for agency, year, code, count in SPEC:
        for i in range(count):
            month = i % 12 + 1
            comment = Comment(
                source="complaint",
                source_id=source_id,
                agency=agency,
                district="shangcheng",
                created_at=datetime(year, month, 1 + i // 12, 9, tzinfo=UTC),
                month=f"{year}-{month:02d}",
                language="zh",
                assurance="verified_phone",
                text=f"[{code or 'other'}] 挂号排队 {source_id}",
            )
            source_id += 1
            session.add(comment)
            session.flush()
            if code:
                session.add(CommentCode(comment_id=comment.id, kind="suggested", code=code))
    session.flush()


def add_users(session: Session) -> dict[str, AgencyUser]:
    """The users, by username, with hashes no one can sign in with (the desk's tests
    create their own)."""
    users = {}
    for username, agency, role in USERS:
        user = AgencyUser(
            username=username,
            password_hash="-",
            display_name=username.title(),
            agency=agency,
            role=role,
        )
        session.add(user)
        users[username] = user
    session.flush()
    return users


def rules_and_codebook(profile: Profile) -> tuple[NoticeRules, Codebook]:
    codebook = load_codebook(codebook_path(profile), profile)
    return load_notice_rules(notice_rules_path(profile), profile, codebook), codebook


def proposed_notice(session: Session, profile: Profile) -> Notice:
    """The one proposal the generated years make (hospital registration, health)."""
    add_comments(session)
    rules, codebook = rules_and_codebook(profile)
    (notice,) = propose_notices(
        session=session, profile=profile, codebook=codebook, rules=rules, year=2026
    )
    session.commit()
    return notice
