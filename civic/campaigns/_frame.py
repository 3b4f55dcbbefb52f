"""The sample frame: households imported from the evaluation office's registry, and bot
subscribers who opted in.

Mobile numbers, e-mail addresses and postal addresses are personal data: no error message
or log line here ever quotes a cell of the registry, only its line and column.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from civic.campaigns._sampling import KEY_SEPARATORS
from storage.models import Citizen, FrameMember

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

CONTACT_COLUMNS = ("mobile", "email", "postal_address")
# Columns that are not strata; every other column is one (age_band, gender, income, ...).
FIXED_COLUMNS = ("id", "district", *CONTACT_COLUMNS)
COLUMN_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
CN_MOBILE = re.compile(r"1[3-9]\d{9}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
MAX_ID_LENGTH = 64
MAX_EMAIL_LENGTH = 255
QUERY_CHUNK = 500


@dataclass(frozen=True)
class RowError:
    """A problem in the registry file. Never holds the cell's value, which may be personal."""

    line: int
    column: str | None
    problem: str

    def __str__(self) -> str:
        where = f"line {self.line}: " + (f"{self.column} " if self.column else "")
        return where + self.problem


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class _Household:
    external_id: str
    district: str
    strata: str
    mobile: str | None
    email: str | None
    postal_address: str | None


def import_households(
    *, session: Session, csv_text: str, profile_districts: set[str]
) -> ImportReport:
    """Add or update the registry's households from CSV (header on line 1).

    Columns: `id` (the registry's id, unique), `district` (a district code), at least one
    of `mobile`, `email`, `postal_address`, and any strata columns. All or nothing: when
    any row is wrong nothing is written and the report lists every problem. A household
    already imported is updated (its consent, opt-out and sampling history stay).
    """
    report = ImportReport()
    reader = csv.reader(io.StringIO(csv_text.removeprefix("\ufeff"), newline=""))
    households: list[_Household] = []
    try:
        households = _parse(reader, profile_districts, report.errors)
    except csv.Error:
        # The csv module's message may quote the line; ours does not.
        report.errors.append(RowError(reader.line_num, None, "is not valid CSV (read no further)"))
    if report.errors:
        return report
    existing = _existing(session, [h.external_id for h in households])
    for household in households:
        member = existing.get(household.external_id)
        if member is None:
            session.add(FrameMember(kind="household", **_fields(household)))
            report.added += 1
        elif _apply(member, household):
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()
    return report


def _parse(reader: CsvReader, districts: set[str], errors: list[RowError]) -> list[_Household]:
    header = [name.strip().lower() for name in next(reader, [])]
    errors.extend(_header_errors(header))
    if errors:
        return []
    households: list[_Household] = []
    first_line: dict[str, int] = {}
    for line, cells in _rows(reader):
        if len(cells) != len(header):
            errors.append(RowError(line, None, f"has {len(cells)} cells, the header {len(header)}"))
            continue
        row = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
        household = _household(line, row, districts, errors)
        if household is None:
            continue
        if household.external_id in first_line:
            seen = first_line[household.external_id]
            errors.append(RowError(line, "id", f"repeats the id on line {seen}"))
        first_line.setdefault(household.external_id, line)
        households.append(household)
    return households


def _rows(reader: CsvReader) -> Iterator[tuple[int, list[str]]]:
    """Rows with the line each starts on (a quoted cell may span lines); blank rows skipped."""
    line = 2
    for cells in reader:
        if any(cell.strip() for cell in cells):
            yield line, cells
        line = reader.line_num + 1


def _header_errors(header: Sequence[str]) -> list[RowError]:
    if not header:
        return [RowError(1, None, "is empty: a header line is required")]
    errors = [RowError(1, name, "is required") for name in ("id", "district") if name not in header]
    if not any(name in header for name in CONTACT_COLUMNS):
        errors.append(RowError(1, None, "needs a mobile, email or postal_address column"))
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if not COLUMN_NAME.fullmatch(name):
            errors.append(
                RowError(1, f"column {position}", "name must be lower-case letters, digits, _")
            )
        elif name in seen:
            errors.append(RowError(1, name, "appears twice"))
        seen.add(name)
    return errors


def _household(
    line: int, row: Mapping[str, str], districts: set[str], errors: list[RowError]
) -> _Household | None:
    found: list[RowError] = []
    external_id = row["id"]
    if not external_id:
        found.append(RowError(line, "id", "is required"))
    elif len(external_id) > MAX_ID_LENGTH:
        found.append(RowError(line, "id", f"is longer than {MAX_ID_LENGTH} characters"))
    if not row["district"]:
        found.append(RowError(line, "district", "is required"))
    elif row["district"] not in districts:
        found.append(RowError(line, "district", "is not a known district code"))
    contacts = {name: row.get(name) or None for name in CONTACT_COLUMNS}
    if not any(contacts.values()):
        found.append(RowError(line, None, "needs a mobile, email or postal_address"))
    mobile = normalise_mobile(contacts["mobile"]) if contacts["mobile"] else None
    if contacts["mobile"] and mobile is None:
        found.append(RowError(line, "mobile", "is not a valid mobile number"))
    email = contacts["email"]
    if email and (len(email) > MAX_EMAIL_LENGTH or not EMAIL.fullmatch(email)):
        found.append(RowError(line, "email", "is not a valid e-mail address"))
    strata = {name: value for name, value in row.items() if name not in FIXED_COLUMNS and value}
    for name, value in strata.items():
        if any(separator in value for separator in KEY_SEPARATORS):
            found.append(RowError(line, name, "must not contain '|' or '='"))
    errors.extend(found)
    if found:
        return None
    return _Household(
        external_id=external_id,
        district=row["district"],
        strata=json.dumps(strata, ensure_ascii=False, sort_keys=True),
        mobile=mobile,
        email=email,
        postal_address=contacts["postal_address"],
    )


def normalise_mobile(text: str) -> str | None:
    """A Chinese mobile number as E.164 (+86 and 11 digits), or None when it is not one.
    Spaces and hyphens are ignored; "+86" may be left off."""
    national = re.sub(r"[\s-]", "", text).removeprefix("+86")
    return f"+86{national}" if CN_MOBILE.fullmatch(national) else None


def _existing(session: Session, external_ids: Sequence[str]) -> dict[str, FrameMember]:
    found: dict[str, FrameMember] = {}
    for start in range(0, len(external_ids), QUERY_CHUNK):
        chunk = external_ids[start : start + QUERY_CHUNK]
        for member in session.scalars(
            select(FrameMember).where(FrameMember.external_id.in_(chunk))
        ):
            found[member.external_id or ""] = member
    return found


def _fields(household: _Household) -> dict[str, str | None]:
    return {
        "external_id": household.external_id,
        "district": household.district,
        "strata": household.strata,
        "mobile": household.mobile,
        "email": household.email,
        "postal_address": household.postal_address,
    }


def _apply(member: FrameMember, household: _Household) -> bool:
    """Update the member from the registry's row; True when anything changed."""
    changed = False
    for name, value in _fields(household).items():
        if getattr(member, name) != value:
            setattr(member, name, value)
            changed = True
    return changed


# A citizen linked to an improvement notice, told about it through the campaign sender but
# never sampled for a survey (they did not subscribe): civic.notices makes these.
CONTACT = "contact"


def subscribe(
    *,
    session: Session,
    citizen_id: int,
    district: str | None,
    strata: Mapping[str, str],
    now: datetime,
) -> FrameMember:
    """Put a citizen in the frame (or back in it) with their consent given `now`."""
    for name, value in strata.items():
        if any(separator in name + value for separator in KEY_SEPARATORS):
            raise ValueError(f"stratum attribute {name!r} must not contain '|' or '='")
    member = member_for_citizen(session=session, citizen_id=citizen_id)
    if member is None:
        member = FrameMember(kind="subscriber", citizen_id=citizen_id)
        session.add(member)
    member.kind = "subscriber"  # a contact who subscribes joins the sample frame
    member.district = district
    member.strata = json.dumps(dict(strata), ensure_ascii=False, sort_keys=True)
    member.consent_at = now
    member.opted_out_at = None
    session.flush()
    return member


def opt_out(*, session: Session, member: FrameMember, now: datetime) -> None:
    """Take the member out of all future samples."""
    member.opted_out_at = now
    session.flush()


def member_for_citizen(*, session: Session, citizen_id: int) -> FrameMember | None:
    return session.scalars(select(FrameMember).where(FrameMember.citizen_id == citizen_id)).first()


def phone_in_panel(*, session: Session, phone: str, other_than: int) -> bool:
    """True when another citizen with this mobile number (however it was written down:
    +86…, 86… as Telegram gives it, or 11 digits) subscribed and has not left: one
    number, one place in the panel."""
    mobile = normalise_mobile(phone) or normalise_mobile(f"+{phone}")
    spellings = {phone} | ({mobile, mobile[1:], mobile[3:]} if mobile else set())
    found = session.scalars(
        select(FrameMember.id)
        .join(Citizen, Citizen.id == FrameMember.citizen_id)
        .where(
            Citizen.phone.in_(spellings),
            Citizen.id != other_than,
            FrameMember.opted_out_at.is_(None),
        )
        .limit(1)
    ).first()
    return found is not None


def eligible_members(
    *, session: Session, population: Mapping[str, list[str]], quiet_since: datetime
) -> list[tuple[int, dict[str, str | None]]]:
    """The frame a campaign samples from, as (member id, attributes) sorted by id: members
    not opted out, not sampled since `quiet_since`, whose attributes (district and strata)
    take one of the allowed values of each attribute in `population` ({} = everyone)."""
    query = select(FrameMember).where(
        FrameMember.kind != CONTACT,
        FrameMember.opted_out_at.is_(None),
        or_(
            FrameMember.last_sampled_at.is_(None),
            # SQLite keeps times as text without a zone: compare in UTC, as they are stored.
            FrameMember.last_sampled_at < quiet_since.astimezone(UTC),
        ),
    )
    if "district" in population:
        query = query.where(FrameMember.district.in_(population["district"]))
    eligible: list[tuple[int, dict[str, str | None]]] = []
    for member in session.scalars(query.order_by(FrameMember.id)):
        attrs = attributes(member)
        if all(attrs.get(name) in allowed for name, allowed in population.items()):
            eligible.append((member.id, attrs))
    return eligible


def attributes(member: FrameMember) -> dict[str, str | None]:
    """The member's stratum attributes: the strata JSON with the district."""
    attrs: dict[str, str | None] = {
        str(name): None if value is None else str(value)
        for name, value in json.loads(member.strata or "{}").items()
    }
    attrs["district"] = member.district
    return attrs


def erase_household(*, session: Session, external_id: str) -> bool:
    """Delete a registry household (its contact details and strata) on request; its
    invitations stay, anonymous, with their stratum. False when there is no such id."""
    member = session.scalars(
        select(FrameMember).where(FrameMember.external_id == external_id)
    ).first()
    if member is None:
        return False
    session.delete(member)
    session.flush()
    return True
