"""Proving a phone number with a one-time code sent by SMS.

`/verify` opens a verification that waits for the number; the number gets a 6-digit
code; the code typed back raises the citizen to verified_phone and keeps the number.

- The code is never stored: only HMAC-SHA256(key, verification id, number, code), with a
  key derived from the secret key, and a typed code is compared in constant time.
- A code is valid for 10 minutes; 5 wrong codes and it is dead (a new one is needed).
- At most 3 codes an hour go to one citizen, and 3 an hour to one number, whoever asks:
  a script cannot make us text a stranger all day, nor try a million codes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from civic.campaigns import normalise_mobile
from civic.errors import CivicError
from civic.identity._assurance import INVITED, VERIFIED_PHONE, raise_level
from storage.citizens import lock_citizen
from storage.models import Citizen, PhoneCode
from storage.phone_codes import (
    close_open_phone_codes,
    close_phone_code,
    count_codes_sent,
    create_phone_code,
    open_phone_code,
)

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
MAX_WRONG_TRIES = 5
CODES_PER_HOUR = 3
# After a code's expiry, how long a typed code is still answered ("it has expired")
# rather than passed on to the assistant.
LATE_ANSWERS = timedelta(minutes=10)
# Where the rows are useful no more: every limit looks back one hour.
KEEP_RECORDS = timedelta(days=1)

WAITING_FOR_NUMBER = "number"
WAITING_FOR_CODE = "code"

_DIGITS = re.compile(r"^\+?\d+$")
_SEPARATORS = re.compile(r"[\s\-().]")
# digits, possibly grouped ("+86 138-1234-5678"), inside a sentence
_DIGIT_RUN = re.compile(r"\+?\d(?:[\s\-]?\d)*")


class TooManyCodes(CivicError):
    """No code now: `per` is "citizen" or "number", whichever had 3 codes this hour."""

    def __init__(self, per: str) -> None:
        super().__init__(f"phone code limit reached per {per}")
        self.per = per


@dataclass(frozen=True)
class Issued:
    """A code to send by SMS to `phone`; `verification_id` to report a failed send."""

    verification_id: int
    phone: str
    code: str


@dataclass(frozen=True)
class Checked:
    """verified | wrong (with tries left) | locked (too many wrong) | expired."""

    outcome: str
    tries_left: int = 0


@dataclass(frozen=True)
class Reply:
    """What a message means to a verification in progress: a code, a number, or an
    attempt at one that is malformed (bad_code, bad_number)."""

    kind: str
    value: str = ""


def is_verified(citizen: Citizen) -> bool:
    return citizen.assurance in {VERIFIED_PHONE, INVITED}


def read_reply(text: str, stage: str) -> Reply | None:
    """The meaning of `text` while a verification waits at `stage`; None when it is not
    about the verification (so the assistant gets it). A number or code may come with
    words around it ("我的手机号是 138…"); a short number alone (a menu choice, "2") is
    never taken for one."""
    folded = unicodedata.normalize("NFKC", text).strip()
    bare = _SEPARATORS.sub("", folded)
    if not _DIGITS.match(bare):
        runs = [_SEPARATORS.sub("", run) for run in _DIGIT_RUN.findall(folded)]
        if len(runs) != 1:
            return None
        found = _read_digits(runs[0], stage)
        return found if found is not None and found.kind in {"number", "code"} else None
    return _read_digits(bare, stage)


def _read_digits(bare: str, stage: str) -> Reply | None:
    digits = bare.lstrip("+")
    mobile = normalise_mobile(bare)
    if mobile is not None:
        return Reply("number", mobile)
    if stage == WAITING_FOR_CODE and len(digits) == CODE_DIGITS and not bare.startswith("+"):
        return Reply("code", digits)
    if len(digits) < 4:
        return None
    return Reply("bad_code" if stage == WAITING_FOR_CODE and len(digits) < 9 else "bad_number")


def mask_phone(phone: str) -> str:
    """+8613812345678 → +86 138****5678: enough for the citizen to recognise it."""
    national = phone.removeprefix("+86")
    return f"+86 {national[:3]}****{national[-4:]}"


def _random_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class PhoneCodes:
    """The verification rules. `clock` and `new_code` are there for tests."""

    def __init__(
        self,
        secret_key: str,
        *,
        clock: Callable[[], datetime] = _utc_now,
        new_code: Callable[[], str] = _random_code,
    ) -> None:
        # A key of its own, so these digests say nothing about other uses of the secret.
        self._key = hmac.new(secret_key.encode(), b"civic phone codes", hashlib.sha256).digest()
        self._clock = clock
        self._new_code = new_code

    def _digest(self, *parts: object) -> str:
        message = "\x1f".join(str(p) for p in parts).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def begin(self, *, session: Session, citizen_id: int) -> None:
        """Start over: wait for the number (a code already sent no longer works)."""
        now = self._clock()
        close_open_phone_codes(
            session=session, citizen_id=citizen_id, outcome="superseded", now=now
        )
        create_phone_code(
            session=session, citizen_id=citizen_id, now=now, expires_at=now + CODE_LIFETIME
        )

    def stage(self, *, session: Session, citizen_id: int) -> str | None:
        """What the citizen's verification waits for, or None when there is none."""
        row = open_phone_code(session=session, citizen_id=citizen_id)
        if row is None or self._clock() > _aware(row.expires_at) + LATE_ANSWERS:
            return None
        return WAITING_FOR_CODE if row.code_digest else WAITING_FOR_NUMBER

    def issue(self, *, session: Session, citizen: Citizen, phone: str) -> Issued:
        """A new code for `phone` (E.164, from `read_reply`); TooManyCodes when this
        citizen or this number has had its codes for the hour."""
        lock_citizen(session=session, citizen_id=citizen.id)  # parallel requests take turns
        now = self._clock()
        since = now - timedelta(hours=1)
        phone_digest = self._digest("phone", phone)
        if count_codes_sent(session=session, since=since, citizen_id=citizen.id) >= CODES_PER_HOUR:
            raise TooManyCodes("citizen")
        if count_codes_sent(session=session, since=since, phone_digest=phone_digest) >= (
            CODES_PER_HOUR
        ):
            raise TooManyCodes("number")
        row = open_phone_code(session=session, citizen_id=citizen.id)
        if row is None or row.code_digest is not None:  # a code sent before: replaced
            close_open_phone_codes(
                session=session, citizen_id=citizen.id, outcome="superseded", now=now
            )
            row = create_phone_code(session=session, citizen_id=citizen.id, now=now, expires_at=now)
        code = self._new_code()
        row.phone, row.phone_digest, row.issued_at = phone, phone_digest, now
        row.expires_at = now + CODE_LIFETIME
        row.code_digest = self._digest("code", row.id, phone_digest, code)
        return Issued(verification_id=row.id, phone=phone, code=code)

    def unsent(self, *, session: Session, verification_id: int) -> None:
        """The SMS did not go out: that code does not count, and the citizen may type
        the number again."""
        row = session.get(PhoneCode, verification_id)
        if row is None or row.closed_at is not None:
            return
        close_phone_code(session=session, row=row, outcome="unsent", now=self._clock())
        self.begin(session=session, citizen_id=row.citizen_id)

    def check(self, *, session: Session, citizen: Citizen, typed: str) -> Checked:
        """The citizen typed `typed` for the code they were sent."""
        # Guesses sent in parallel take turns, so each one counts against the 5.
        lock_citizen(session=session, citizen_id=citizen.id)
        now = self._clock()
        row = open_phone_code(session=session, citizen_id=citizen.id)
        if row is None or not row.code_digest or not row.phone_digest:
            return Checked("expired")
        if now > _aware(row.expires_at):
            close_phone_code(session=session, row=row, outcome="expired", now=now)
            self.begin(session=session, citizen_id=citizen.id)
            return Checked("expired")
        expected = self._digest("code", row.id, row.phone_digest, typed)
        if hmac.compare_digest(expected, row.code_digest):
            citizen.phone = row.phone
            raise_level(citizen, VERIFIED_PHONE)
            close_phone_code(session=session, row=row, outcome="verified", now=now)
            return Checked("verified")
        row.wrong_tries = (row.wrong_tries or 0) + 1
        if row.wrong_tries >= MAX_WRONG_TRIES:
            close_phone_code(session=session, row=row, outcome="locked", now=now)
            self.begin(session=session, citizen_id=citizen.id)
            return Checked("locked")
        return Checked("wrong", MAX_WRONG_TRIES - row.wrong_tries)

    def close_by_contact(self, *, session: Session, citizen_id: int) -> bool:
        """The citizen shared their own number on Telegram instead: the verification in
        progress is done. True when there was one."""
        if self.stage(session=session, citizen_id=citizen_id) is None:
            return False
        close_open_phone_codes(
            session=session, citizen_id=citizen_id, outcome="contact", now=self._clock()
        )
        return True
