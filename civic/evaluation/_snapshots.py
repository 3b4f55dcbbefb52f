"""Freezing a year's evaluation: published figures never change silently.

`freeze` stores the result as a new version only when its inputs or its figures differ
from the latest version's; then the operator must say why, and the version keeps a
machine-readable diff from the one before: which agencies' points changed and by how
much (total, each component, rank, band), which inputs changed, and whether the scheme
did. Versions are only ever added.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civic.evaluation._errors import ReasonRequired
from civic.evaluation._result import COMPONENT_ORDER, EvaluationResult
from storage.models import EvaluationSnapshot, utcnow

MAX_REASON = 4000


@dataclass(frozen=True)
class Frozen:
    """What `freeze` did: the snapshot that holds the figures now, whether it was made
    now (False: the same figures were already frozen in it), and its diff."""

    snapshot: EvaluationSnapshot
    created: bool
    diff: dict[str, Any] | None


def snapshots(*, session: Session, year: int) -> list[EvaluationSnapshot]:
    """Every frozen version of the year, oldest first."""
    query = select(EvaluationSnapshot).where(EvaluationSnapshot.year == year)
    return list(session.scalars(query.order_by(EvaluationSnapshot.version)))


@dataclass(frozen=True)
class Version:
    """What a public page lists about a frozen version, without loading its figures."""

    id: int
    year: int
    version: int
    created_at: datetime
    reason: str | None


def versions(*, session: Session, year: int | None = None) -> list[Version]:
    """The frozen versions of a year (of every year with None), newest year first and each
    year's versions oldest first."""
    query = select(
        EvaluationSnapshot.id,
        EvaluationSnapshot.year,
        EvaluationSnapshot.version,
        EvaluationSnapshot.created_at,
        EvaluationSnapshot.reason,
    )
    if year is not None:
        query = query.where(EvaluationSnapshot.year == year)
    rows = session.execute(
        query.order_by(EvaluationSnapshot.year.desc(), EvaluationSnapshot.version)
    )
    return [Version(*row) for row in rows]


def frozen_result(*, session: Session, snapshot_id: int) -> dict[str, Any] | None:
    """The figures of one frozen version, as `EvaluationResult.as_json()` gave them."""
    text = session.scalar(
        select(EvaluationSnapshot.result).where(EvaluationSnapshot.id == snapshot_id)
    )
    return None if text is None else dict(json.loads(text))


def latest_snapshot(*, session: Session, year: int) -> EvaluationSnapshot | None:
    query = select(EvaluationSnapshot).where(EvaluationSnapshot.year == year)
    return session.scalars(query.order_by(EvaluationSnapshot.version.desc()).limit(1)).first()


def snapshot_result(snapshot: EvaluationSnapshot) -> dict[str, Any]:
    """The frozen result, as `EvaluationResult.as_json()` gave it."""
    return dict(json.loads(snapshot.result))


def _same(snapshot: EvaluationSnapshot, result: EvaluationResult) -> bool:
    return (
        snapshot.inputs_digest == result.inputs_digest
        and snapshot.results_digest == result.results_digest
    )


def pending_changes(*, session: Session, result: EvaluationResult) -> dict[str, Any] | None:
    """The diff `freeze` would record: None when nothing is frozen yet or nothing
    changed."""
    latest = latest_snapshot(session=session, year=result.year)
    if latest is None or _same(latest, result):
        return None
    return diff_results(snapshot_result(latest), result.as_json(), latest.version)


def freeze(
    *,
    session: Session,
    result: EvaluationResult,
    created_by: str,
    reason: str | None = None,
) -> Frozen:
    """Store the result as the year's next version, unless the latest already holds the
    same inputs and figures. A version after the first needs a reason (ReasonRequired)."""
    latest = latest_snapshot(session=session, year=result.year)
    if latest is not None and _same(latest, result):
        return Frozen(latest, False, None)
    why = (reason or "").strip()
    if len(why) > MAX_REASON:
        raise ReasonRequired("reason_too_long", limit=MAX_REASON)
    change = None
    if latest is not None:
        if not why:
            raise ReasonRequired("reason_required", version=latest.version)
        change = diff_results(snapshot_result(latest), result.as_json(), latest.version)
    snapshot = EvaluationSnapshot(
        year=result.year,
        version=latest.version + 1 if latest else 1,
        created_at=utcnow(),
        created_by=created_by[:64],
        scheme_digest=str(result.scheme["digest"]),
        inputs_digest=result.inputs_digest,
        results_digest=result.results_digest,
        result=json.dumps(result.as_json(), ensure_ascii=False, sort_keys=True),
        reason=why or None,
        diff=json.dumps(change, ensure_ascii=False, sort_keys=True) if change else None,
    )
    session.add(snapshot)
    session.flush()
    return Frozen(snapshot, True, change)


def diff_results(
    before: Mapping[str, Any], after: Mapping[str, Any], from_version: int
) -> dict[str, Any]:
    """What changed from one result (as JSON) to the next: per agency whose figures
    changed, its total, rank, band and each component's points (from, to and the
    change); every input that changed, by its path; and the scheme's digest."""
    old = {a["agency"]: a for a in before["agencies"]}
    agencies = []
    for agency in after["agencies"]:
        changed = _agency_changes(old.get(agency["agency"]), agency)
        if changed:
            agencies.append({"agency": agency["agency"], **changed})
    gone = sorted(set(old) - {a["agency"] for a in after["agencies"]})
    scheme = None
    if before["scheme"]["digest"] != after["scheme"]["digest"]:
        scheme = {"from": before["scheme"], "to": after["scheme"]}
    return {
        "from_version": from_version,
        "to_version": from_version + 1,
        "scheme": scheme,
        "agencies": agencies,
        "agencies_removed": gone,
        "inputs": _changed_paths(_flatten(before["inputs"]), _flatten(after["inputs"])),
    }


def _agency_changes(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    old = old or {"total": None, "rank": None, "band": None, "components": {}}
    changes: dict[str, Any] = {}
    for key in ("total", "rank", "band"):
        if old.get(key) != new.get(key):
            changes[key] = _change(old.get(key), new.get(key))
    components = {}
    for code in COMPONENT_ORDER:
        before = (old["components"].get(code) or {}).get("points")
        after = (new["components"].get(code) or {}).get("points")
        if before != after:
            components[code] = _change(before, after)
    if components:
        changes["components"] = components
    return changes


def _change(before: Any, after: Any) -> dict[str, Any]:
    change: dict[str, Any] = {"from": before, "to": after}
    numbers = (int, float)
    if isinstance(before, numbers) and isinstance(after, numbers):
        change["change"] = round(after - before, 2)
    return change


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value}


def _changed_paths(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"path": path, "from": before.get(path), "to": after.get(path)}
        for path in sorted(set(before) | set(after))
        if before.get(path) != after.get(path)
    ]
