"""Phone verification codes (civic/identity/_phone.py), on SQLite and the real
PostgreSQL, with a clock the test moves."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from civic.identity import (
    CODES_PER_HOUR,
    MAX_WRONG_TRIES,
    VERIFIED_PHONE,
    WAITING_FOR_CODE,
    WAITING_FOR_NUMBER,
    Checked,
    PhoneCodes,
    Reply,
    TooManyCodes,
    mask_phone,
    read_reply,
)
from civic.privacy import erase_citizen
from storage.citizens import get_or_create_citizen
from storage.db import session_factory
from storage.models import Citizen, PhoneCode
from storage.phone_codes import purge_phone_codes

START = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
PHONE = "+8613812345678"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class Codes:
    """Codes handed out in order, so the test knows what the SMS said."""

    def __init__(self) -> None:
        self.handed: list[str] = []

    def __call__(self) -> str:
        code = f"{len(self.handed) + 1:06d}"  # 000001, 000002, ...
        self.handed.append(code)
        return code


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def codes(clock: Clock) -> Iterator[PhoneCodes]:
    yield PhoneCodes("test-secret", clock=clock, new_code=Codes())


def person(session: Session, address: str = "web-1") -> Citizen:
    citizen = get_or_create_citizen(session=session, channel="web", address=address)
    session.flush()
    return citizen


def test_a_code_sent_to_a_number_and_typed_back_verifies_it(
    session: Session, codes: PhoneCodes
) -> None:
    citizen = person(session)
    codes.begin(session=session, citizen_id=citizen.id)
    assert codes.stage(session=session, citizen_id=citizen.id) == WAITING_FOR_NUMBER
    issued = codes.issue(session=session, citizen=citizen, phone=PHONE)
    assert (issued.phone, issued.code) == (PHONE, "000001")
    assert codes.stage(session=session, citizen_id=citizen.id) == WAITING_FOR_CODE
    assert codes.check(session=session, citizen=citizen, typed="000001") == Checked("verified")
    session.commit()
    assert (citizen.assurance, citizen.phone) == (VERIFIED_PHONE, PHONE)
    # done: nothing waits any more, and the number lives on the citizen only
    assert codes.stage(session=session, citizen_id=citizen.id) is None
    row = session.scalars(select(PhoneCode)).one()
    assert (row.outcome, row.phone, row.code_digest) == ("verified", None, None)


def test_the_code_and_the_number_never_appear_in_the_table(
    session: Session, codes: PhoneCodes
) -> None:
    citizen = person(session)
    codes.begin(session=session, citizen_id=citizen.id)
    issued = codes.issue(session=session, citizen=citizen, phone=PHONE)
    session.commit()
    row = session.scalars(select(PhoneCode)).one()
    assert row.code_digest is not None and len(row.code_digest) == 64
    assert issued.code not in row.code_digest and PHONE[1:] not in (row.phone_digest or "")
    dump = " ".join(
        str(value)
        for values in session.execute(text("SELECT * FROM phone_codes")).all()
        for value in values
    )
    assert issued.code not in dump
    # the number is kept only while its code may be typed
    assert row.phone == PHONE
    codes.check(session=session, citizen=citizen, typed=issued.code)
    session.commit()
    dump = " ".join(
        str(value)
        for values in session.execute(text("SELECT * FROM phone_codes")).all()
        for value in values
    )
    assert PHONE not in dump and PHONE[3:] not in dump


def test_the_same_code_under_another_secret_does_not_match(session: Session, clock: Clock) -> None:
    citizen = person(session)
    ours = PhoneCodes("test-secret", clock=clock, new_code=lambda: "424242")
    ours.begin(session=session, citizen_id=citizen.id)
    ours.issue(session=session, citizen=citizen, phone=PHONE)
    theirs = PhoneCodes("another-secret", clock=clock)
    assert theirs.check(session=session, citizen=citizen, typed="424242").outcome == "wrong"


def test_a_wrong_code_counts_down_and_the_fifth_kills_the_code(
    session: Session, codes: PhoneCodes
) -> None:
    citizen = person(session)
    codes.begin(session=session, citizen_id=citizen.id)
    issued = codes.issue(session=session, citizen=citizen, phone=PHONE)
    outcomes = [
        codes.check(session=session, citizen=citizen, typed="999999")
        for _ in range(MAX_WRONG_TRIES)
    ]
    assert outcomes == [
        Checked("wrong", 4),
        Checked("wrong", 3),
        Checked("wrong", 2),
        Checked("wrong", 1),
        Checked("locked"),
    ]
    # the right code is no use now: a new one is needed, and the number is asked again
    assert codes.stage(session=session, citizen_id=citizen.id) == WAITING_FOR_NUMBER
    assert codes.check(session=session, citizen=citizen, typed=issued.code).outcome == "expired"
    assert citizen.assurance != VERIFIED_PHONE
    fresh = codes.issue(session=session, citizen=citizen, phone=PHONE)
    assert codes.check(session=session, citizen=citizen, typed=fresh.code) == Checked("verified")


def test_a_code_expires_after_ten_minutes(
    session: Session, codes: PhoneCodes, clock: Clock
) -> None:
    citizen = person(session)
    codes.begin(session=session, citizen_id=citizen.id)
    issued = codes.issue(session=session, citizen=citizen, phone=PHONE)
    clock.advance(minutes=10, seconds=1)
    # still ours (the citizen is told it expired), but no longer valid
    assert codes.stage(session=session, citizen_id=citizen.id) == WAITING_FOR_CODE
    assert codes.check(session=session, citizen=citizen, typed=issued.code) == Checked("expired")
    assert citizen.assurance == "anonymous" and citizen.phone is None
    assert codes.stage(session=session, citizen_id=citizen.id) == WAITING_FOR_NUMBER


def test_a_code_is_good_until_its_tenth_minute(
    session: Session, codes: PhoneCodes, clock: Clock
) -> None:
    citizen = person(session)
    codes.begin(session=session, citizen_id=citizen.id)
    issued = codes.issue(session=session, citizen=citizen, phone=PHONE)
    clock.advance(minutes=9, seconds=59)
    assert codes.check(session=session, citizen=citizen, typed=issued.code) == Checked("verified")


def test_a_forgotten_verification_lets_go_of_the_chat(
    session: Session, codes: PhoneCodes, clock: Clock
) -> None:
    citizen = person(session)
    codes.begin(session=session, citizen_id=citizen.id)
    codes.issue(session=session, citizen=citizen, phone=PHONE)
    clock.advance(minutes=21)
    assert codes.stage(session=session, citizen_id=citizen.id) is None


def test_a_new_code_replaces_the_previous_one(session: Session, codes: PhoneCodes) -> None:
    citizen = person(session)
    codes.begin(session=session, citizen_id=citizen.id)
    first = codes.issue(session=session, citizen=citizen, phone=PHONE)
    second = codes.issue(session=session, citizen=citizen, phone=PHONE)
    assert codes.check(session=session, citizen=citizen, typed=first.code).outcome == "wrong"
    assert codes.check(session=session, citizen=citizen, typed=second.code).outcome == "verified"


def test_three_codes_an_hour_per_citizen(session: Session, codes: PhoneCodes, clock: Clock) -> None:
    citizen = person(session)
    codes.begin(session=session, citizen_id=citizen.id)
    for n in range(CODES_PER_HOUR):
        codes.issue(session=session, citizen=citizen, phone=f"+86139000000{n:02d}")
        clock.advance(minutes=5)
    with pytest.raises(TooManyCodes) as refused:
        codes.issue(session=session, citizen=citizen, phone="+8613900000099")
    assert refused.value.per == "citizen"
    clock.advance(minutes=46)  # an hour after the first
    assert codes.issue(session=session, citizen=citizen, phone="+8613900000099").code


def test_three_codes_an_hour_per_number_whoever_asks(
    session: Session, codes: PhoneCodes, clock: Clock
) -> None:
    sessions = [person(session, f"web-{n}") for n in range(CODES_PER_HOUR + 1)]
    for citizen in sessions[:CODES_PER_HOUR]:
        codes.begin(session=session, citizen_id=citizen.id)
        codes.issue(session=session, citizen=citizen, phone=PHONE)
    last = sessions[-1]
    codes.begin(session=session, citizen_id=last.id)
    with pytest.raises(TooManyCodes) as refused:
        codes.issue(session=session, citizen=last, phone=PHONE)
    assert refused.value.per == "number"
    # another number is fine for that citizen
    assert codes.issue(session=session, citizen=last, phone="+8613900000001").code
    clock.advance(hours=1, seconds=1)
    assert codes.issue(session=session, citizen=last, phone=PHONE).code


def test_a_code_the_gateway_did_not_take_does_not_count(
    session: Session, codes: PhoneCodes
) -> None:
    citizen = person(session)
    codes.begin(session=session, citizen_id=citizen.id)
    for _ in range(CODES_PER_HOUR + 2):
        issued = codes.issue(session=session, citizen=citizen, phone=PHONE)
        codes.unsent(session=session, verification_id=issued.verification_id)
        assert codes.stage(session=session, citizen_id=citizen.id) == WAITING_FOR_NUMBER
    issued = codes.issue(session=session, citizen=citizen, phone=PHONE)
    assert codes.check(session=session, citizen=citizen, typed=issued.code).outcome == "verified"


def test_begin_again_drops_the_code_in_progress(session: Session, codes: PhoneCodes) -> None:
    citizen = person(session)
    codes.begin(session=session, citizen_id=citizen.id)
    issued = codes.issue(session=session, citizen=citizen, phone=PHONE)
    codes.begin(session=session, citizen_id=citizen.id)
    assert codes.stage(session=session, citizen_id=citizen.id) == WAITING_FOR_NUMBER
    assert codes.check(session=session, citizen=citizen, typed=issued.code).outcome == "expired"


def test_the_contact_button_closes_a_verification_in_progress(
    session: Session, codes: PhoneCodes
) -> None:
    citizen = person(session)
    assert codes.close_by_contact(session=session, citizen_id=citizen.id) is False
    codes.begin(session=session, citizen_id=citizen.id)
    assert codes.close_by_contact(session=session, citizen_id=citizen.id) is True
    assert codes.stage(session=session, citizen_id=citizen.id) is None


def test_a_verified_level_never_falls(session: Session, codes: PhoneCodes) -> None:
    citizen = get_or_create_citizen(session=session, channel="telegram", address="77")
    citizen.assurance = "invited"
    session.flush()
    codes.begin(session=session, citizen_id=citizen.id)
    issued = codes.issue(session=session, citizen=citizen, phone=PHONE)
    codes.check(session=session, citizen=citizen, typed=issued.code)
    assert (citizen.assurance, citizen.phone) == ("invited", PHONE)


def test_erasure_forgets_a_number_being_verified_but_not_the_limits(
    session: Session, codes: PhoneCodes
) -> None:
    citizen = person(session)
    for _ in range(CODES_PER_HOUR):
        codes.begin(session=session, citizen_id=citizen.id)
        codes.issue(session=session, citizen=citizen, phone=PHONE)
    erase_citizen(session=session, citizen=citizen)
    session.commit()
    assert session.scalars(select(PhoneCode.phone).where(PhoneCode.phone.is_not(None))).all() == []
    again = person(session, "web-2")
    codes.begin(session=session, citizen_id=again.id)
    with pytest.raises(TooManyCodes):
        codes.issue(session=session, citizen=again, phone=PHONE)


def test_old_records_are_purged(session: Session, codes: PhoneCodes, clock: Clock) -> None:
    citizen = person(session)
    codes.begin(session=session, citizen_id=citizen.id)
    session.commit()
    assert purge_phone_codes(session=session, before=START) == 0
    assert purge_phone_codes(session=session, before=START + timedelta(seconds=1)) == 1


@pytest.mark.parametrize(
    ("typed", "stage", "expected"),
    [
        ("13812345678", WAITING_FOR_NUMBER, Reply("number", PHONE)),
        ("+86 138-1234-5678", WAITING_FOR_NUMBER, Reply("number", PHONE)),
        ("１３８１２３４５６７８", WAITING_FOR_NUMBER, Reply("number", PHONE)),  # full width
        ("(138) 1234 5678", WAITING_FOR_CODE, Reply("number", PHONE)),  # a new number
        ("123456", WAITING_FOR_CODE, Reply("code", "123456")),
        (" 123 456 ", WAITING_FOR_CODE, Reply("code", "123456")),
        ("12345", WAITING_FOR_CODE, Reply("bad_code")),
        ("1234567", WAITING_FOR_CODE, Reply("bad_code")),
        ("123456", WAITING_FOR_NUMBER, Reply("bad_number")),
        ("23812345678", WAITING_FOR_NUMBER, Reply("bad_number")),
        ("+1 415 555 0100", WAITING_FOR_NUMBER, Reply("bad_number")),
        ("2", WAITING_FOR_NUMBER, None),  # a menu choice, not a number
        ("12", WAITING_FOR_CODE, None),
        ("路灯坏了", WAITING_FOR_CODE, None),
        ("我的手机号是 138 1234 5678", WAITING_FOR_NUMBER, Reply("number", PHONE)),
        ("my code is 123456", WAITING_FOR_CODE, Reply("code", "123456")),
        ("验证码123456。", WAITING_FOR_CODE, Reply("code", "123456")),
        ("my code is 12345", WAITING_FOR_CODE, None),
        ("13812345678 or 13900000000", WAITING_FOR_NUMBER, None),
        ("3 lights out on road 12", WAITING_FOR_CODE, None),
    ],
)
def test_what_a_typed_reply_means(typed: str, stage: str, expected: Reply | None) -> None:
    assert read_reply(typed, stage) == expected


def test_a_masked_number_shows_only_its_ends() -> None:
    assert mask_phone(PHONE) == "+86 138****5678"


def test_guesses_sent_in_parallel_each_count(database_url: str, clock: Clock) -> None:
    """Eight wrong codes at once from eight connections: four are told "wrong", the
    fifth kills the code, and the rest find no code to guess (not eight "wrong")."""
    codes = PhoneCodes("test-secret", clock=clock, new_code=lambda: "424242")
    sessions = session_factory(database_url, writes=True)
    with sessions.begin() as session:
        citizen_id = person(session).id
        codes.begin(session=session, citizen_id=citizen_id)
        codes.issue(session=session, citizen=session.get(Citizen, citizen_id), phone=PHONE)  # type: ignore[arg-type]
    start = threading.Barrier(8)

    def guess() -> str:
        start.wait()
        with sessions.begin() as session:
            citizen = session.get(Citizen, citizen_id)
            assert citizen is not None
            outcome = codes.check(session=session, citizen=citizen, typed="000000").outcome
            time.sleep(0.05)  # hold the turn a moment, as a slower request would
            return outcome

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = Counter(pool.map(lambda _: guess(), range(8)))
    assert outcomes == {"wrong": 4, "locked": 1, "expired": 3}
