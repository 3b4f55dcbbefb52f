"""The annual comprehensive evaluation of the city's departments (综合考评): the yearly
scheme, the indicators, the figures entered on the desk, scoring, ranking, bands, district
scorecards, and frozen versions of the result.

The scheme is data: `profiles/<city>/evaluation/<year>.yml`, checked on load (the format
and the rules are in that folder's README). Every agency is scored on 100 points: public
evaluation (the sampled survey's index blended with window and ticket ratings), annual
targets (indicators against targets), the leaders' evaluation, then bonus and penalty
items within their caps. Every figure carries where it came from (n, interval, assurance
levels, method).

The service, for the command line, the desk and the public pages (sessions are opened
by the caller and passed in; nothing here commits):

Scheme
    `load_scheme(path, profile)`, `scheme_path(profile, year)` -> `Scheme`; a wrong file
    raises `SchemeError` (a `ProfileError`) naming the file and the entry.

Indicators
    `indicator_table(session=, scheme=, timezone=, by=, grain=)` -> the year's ticket
    indicators per agency × category × district × month (or year), each a `Figure`
    (value, n), grouped in the database. `indicator(code, scheme.agency_indicators)`
    says what an indicator is (bilingual name, unit, direction, source).

Entered figures (the desk)
    `enter_indicator_value` (an agency's coordinator, monthly), `enter_adjustment`
    (the evaluation office: leaders' points, bonus and penalty items, with evidence),
    `approve_indicator_value`, `approve_adjustment` (a second person: whoever entered a
    figure may not approve it, `SecondPersonRequired`), `withdraw_adjustment`;
    `indicator_entries`, `adjustments`, `audit_trail` read them back. Refusals are
    `EntryRefused` / `NotPermitted`, with `.text(lang)` for the desk.

Computing and freezing
    `compute(session=, scheme=, profile=, as_of=, progress=)` -> `EvaluationResult`
    (agencies in ranking order with every component's points and details, bands,
    district scorecards, inputs, warnings); `progress(step, done, total)` is called
    for each of `STEPS`. `freeze(session=, result=, created_by=, reason=)` -> `Frozen`
    stores a new version only when inputs or figures changed (a reason is required
    after the first), with the diff from the version before; `pending_changes` shows
    that diff without storing; `snapshots`, `latest_snapshot` and `snapshot_result`
    read versions back; `versions` lists them without their figures and `frozen_result`
    loads one version's figures (the public pages).
"""

from civic.evaluation._compute import STEPS, TREND_YEARS, Progress, compute
from civic.evaluation._entries import (
    ADJUSTMENT_KINDS,
    adjustments,
    approve_adjustment,
    approve_indicator_value,
    audit_trail,
    enter_adjustment,
    enter_indicator_value,
    indicator_entries,
    withdraw_adjustment,
)
from civic.evaluation._errors import (
    EntryRefused,
    EvaluationError,
    NotPermitted,
    ReasonRequired,
    SecondPersonRequired,
)
from civic.evaluation._indicators import BUILTIN, Indicator, indicator
from civic.evaluation._loader import SchemeError, load_scheme, scheme_path
from civic.evaluation._public import SourceFigure
from civic.evaluation._result import (
    AgencyScore,
    ComponentScore,
    DistrictScorecard,
    EvaluationResult,
)
from civic.evaluation._scheme import Band, Scheme
from civic.evaluation._snapshots import (
    Frozen,
    Version,
    diff_results,
    freeze,
    frozen_result,
    latest_snapshot,
    pending_changes,
    snapshot_result,
    snapshots,
    versions,
)
from civic.evaluation._ticket_figures import Figure, TicketFigures, indicator_table

__all__ = [
    "ADJUSTMENT_KINDS",
    "BUILTIN",
    "STEPS",
    "TREND_YEARS",
    "AgencyScore",
    "Band",
    "ComponentScore",
    "DistrictScorecard",
    "EntryRefused",
    "EvaluationError",
    "EvaluationResult",
    "Figure",
    "Frozen",
    "Indicator",
    "NotPermitted",
    "Progress",
    "ReasonRequired",
    "Scheme",
    "SchemeError",
    "SecondPersonRequired",
    "SourceFigure",
    "TicketFigures",
    "Version",
    "adjustments",
    "approve_adjustment",
    "approve_indicator_value",
    "audit_trail",
    "compute",
    "diff_results",
    "enter_adjustment",
    "enter_indicator_value",
    "freeze",
    "frozen_result",
    "indicator",
    "indicator_entries",
    "indicator_table",
    "latest_snapshot",
    "load_scheme",
    "pending_changes",
    "scheme_path",
    "snapshot_result",
    "snapshots",
    "versions",
    "withdraw_adjustment",
]
