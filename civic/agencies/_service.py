"""Agency desk users and their login sessions, API keys for agencies' systems, agency
channels, and who may see which ticket.

Passwords are stored as argon2 hashes; session tokens and API keys only as SHA-256
digests, so a copy of the database lets no one in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, delete, false, select
from sqlalchemy.orm import Session

from civic.errors import InvalidInput
from storage.models import AgencyChannel, AgencyUser, ApiKey, StaffSession, Ticket, utcnow

# A coordinator enters the agency's own performance figures for the annual evaluation.
# A hotline operator (the 12345 hotline, a service window) files tickets for callers and
# sees only those; like the office's staff, they belong to no agency.
ROLES = ("officer", "supervisor", "staff", "coordinator", "hotline")
HOTLINE = "hotline"
_NO_AGENCY = ("staff", HOTLINE)
MIN_PASSWORD_LENGTH = 10
SESSION_TTL = timedelta(hours=8)
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,48}$")
_DISTRICT = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_hasher = PasswordHasher()

# Whoever looks at tickets on the agency side: a desk user or an agency system's key.
Viewer = AgencyUser | ApiKey


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _check_agency(agency: str | None, known_agencies: Iterable[str] | None) -> None:
    if agency is not None and known_agencies is not None and agency not in known_agencies:
        raise InvalidInput(f"unknown agency '{agency}'")


def _district_list(districts: Iterable[str] | None, known: Iterable[str] | None) -> str | None:
    codes = sorted({d.strip() for d in districts or () if d.strip()})
    for code in codes:
        if not _DISTRICT.match(code) or (known is not None and code not in known):
            raise InvalidInput(f"unknown district '{code}'")
    return ",".join(codes) or None


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    agency: str | None,
    role: str,
    display_name: str,
    known_agencies: set[str],
    districts: Iterable[str] | None = None,
    known_districts: set[str] | None = None,
) -> AgencyUser:
    """A desk user. Staff belong to the evaluation office and hotline operators to the
    hotline (no agency); officers, supervisors and coordinators to one agency, officers
    optionally to some of its districts."""
    username = username.strip()
    if not _NAME.match(username):
        raise InvalidInput("a username is 1-48 letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    if (role in _NO_AGENCY) != (agency is None):
        raise InvalidInput(
            "staff and hotline operators have no agency; officers, supervisors and "
            "coordinators need one"
        )
    _check_agency(agency, known_agencies)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalars(select(AgencyUser.id).where(AgencyUser.username == username)).first():
        raise InvalidInput(f"the username '{username}' is taken")
    user = AgencyUser(
        username=username,
        password_hash=_hasher.hash(password),
        display_name=display_name.strip() or username,
        agency=agency,
        role=role,
        districts=_district_list(districts, known_districts),
    )
    session.add(user)
    session.flush()
    return user


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_hex(16))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(*, session: Session, username: str, password: str) -> AgencyUser | None:
    """The user when the password matches and the account is enabled, else None. An
    unknown name costs the same hashing work, so timing does not reveal which names
    exist."""
    user = session.scalars(
        select(AgencyUser).where(AgencyUser.username == username.strip())
    ).first()
    if user is None or user.disabled_at is not None:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def disable_user(*, session: Session, user: AgencyUser) -> None:
    """Lock the account and end its sessions."""
    user.disabled_at = utcnow()
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))


def start_session(*, session: Session, user: AgencyUser, ttl: timedelta = SESSION_TTL) -> str:
    """A new login; returns the raw token (only its digest is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        StaffSession(
            token_hash=digest(token), user_id=user.id, created_at=now, expires_at=now + ttl
        )
    )
    session.flush()
    return token


def user_for_session(
    *, session: Session, token: str, now: datetime | None = None
) -> AgencyUser | None:
    """The enabled user logged in with `token`, or None when unknown or expired."""
    if not token:
        return None
    return session.scalars(
        select(AgencyUser)
        .join(StaffSession, StaffSession.user_id == AgencyUser.id)
        .where(
            StaffSession.token_hash == digest(token),
            StaffSession.expires_at > (now or utcnow()),
            AgencyUser.disabled_at.is_(None),
        )
    ).first()


def end_session(*, session: Session, token: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.token_hash == digest(token)))


def create_api_key(
    *,
    session: Session,
    name: str,
    agency: str | None,
    can_write: bool,
    known_agencies: set[str] | None = None,
) -> tuple[ApiKey, str]:
    """A key for an agency's system (`agency` None: an evaluation-office integration that
    reads everything). The raw key is returned once and never stored."""
    if not _NAME.match(name.strip()):
        raise InvalidInput("a key name is 1-48 letters, digits, '.', '_' or '-'")
    _check_agency(agency, known_agencies)
    raw = secrets.token_urlsafe(32)
    key = ApiKey(name=name.strip(), key_hash=digest(raw), agency=agency, can_write=can_write)
    session.add(key)
    session.flush()
    return key, raw


def api_key_for(*, session: Session, raw: str) -> ApiKey | None:
    """The live key for a raw key string; None when unknown or revoked."""
    if not raw:
        return None
    return session.scalars(
        select(ApiKey).where(ApiKey.key_hash == digest(raw), ApiKey.revoked_at.is_(None))
    ).first()


def revoke_api_key(*, session: Session, key: ApiKey) -> None:
    key.revoked_at = utcnow()


def set_channel(
    *,
    session: Session,
    agency: str,
    known_agencies: set[str],
    telegram_chat_id: str | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
) -> AgencyChannel:
    """Create or update where an agency hears about its tickets; a value left None keeps
    what was stored. A webhook needs a secret (its deliveries are signed with it)."""
    if agency not in known_agencies:
        raise InvalidInput(f"unknown agency '{agency}'")
    if webhook_url is not None and not re.match(r"^https?://\S+$", webhook_url):
        raise InvalidInput("the webhook URL must start with http:// or https://")
    channel = session.get(AgencyChannel, agency) or AgencyChannel(agency=agency)
    if telegram_chat_id is not None:
        channel.telegram_chat_id = telegram_chat_id
    if webhook_url is not None:
        channel.webhook_url = webhook_url
    if webhook_secret is not None:
        channel.webhook_secret = webhook_secret
    if channel.webhook_url and not channel.webhook_secret:
        raise InvalidInput("a webhook needs a secret")
    session.add(channel)
    session.flush()
    return channel


def actor_of(viewer: Viewer) -> str:
    """How the viewer is named in a ticket's history."""
    name = f"user:{viewer.username}" if isinstance(viewer, AgencyUser) else f"apikey:{viewer.name}"
    return name[:64]


def _is_live(viewer: Viewer) -> bool:
    if isinstance(viewer, AgencyUser):
        return viewer.disabled_at is None
    return viewer.revoked_at is None


def is_hotline(viewer: Viewer) -> bool:
    return isinstance(viewer, AgencyUser) and viewer.role == HOTLINE


def is_office(viewer: Viewer) -> bool:
    """The evaluation office: its staff, and keys of no agency (not the hotline)."""
    return viewer.agency is None and not is_hotline(viewer)


def can_access(viewer: Viewer, ticket: Ticket) -> bool:
    """Staff and unscoped keys see every ticket; a hotline operator those they filed;
    everyone else only their agency's, and an officer limited to districts only those
    districts'."""
    if not _is_live(viewer):
        return False
    if is_hotline(viewer):
        return ticket.filed_by_user_id == viewer.id
    if viewer.agency is None:
        return True
    if ticket.agency != viewer.agency:
        return False
    if isinstance(viewer, AgencyUser) and viewer.district_codes:
        return ticket.district in viewer.district_codes
    return True


def can_act(viewer: Viewer, ticket: Ticket) -> bool:
    """Acting needs access, and for an API key the write permission; a hotline operator
    files tickets and follows them, but the agency works them."""
    if is_hotline(viewer):
        return False
    return can_access(viewer, ticket) and (isinstance(viewer, AgencyUser) or viewer.can_write)


def ticket_scope(viewer: Viewer | None) -> list[ColumnElement[bool]]:
    """`can_access` as SQL conditions on Ticket, for listing; None is the public."""
    if viewer is None:
        return []
    if not _is_live(viewer):
        return [false()]
    if is_hotline(viewer):
        return [Ticket.filed_by_user_id == viewer.id]
    if viewer.agency is None:
        return []
    conditions = [Ticket.agency == viewer.agency]
    if isinstance(viewer, AgencyUser) and viewer.district_codes:
        conditions.append(Ticket.district.in_(sorted(viewer.district_codes)))
    return conditions
