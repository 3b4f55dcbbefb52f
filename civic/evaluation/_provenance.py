"""Where the figures came from: the inputs of a computation, keyed so that a diff between
two versions can name each one (`agencies.water.public.windows.n`), and the warnings the
evaluation office should read before publishing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from civic.evaluation._result import AgencyScore, ComponentScore, DistrictScorecard
from civic.evaluation._scheme import Scheme


def inputs_of(
    scheme: Scheme, scores: Sequence[AgencyScore], districts: Sequence[DistrictScorecard]
) -> dict[str, Any]:
    """The figures the scores were made from, keyed so that a diff can name them."""
    agencies: dict[str, Any] = {}
    for score in scores:
        sources = score.components["public"].details["sources"]
        entries = {
            str(entry["id"]): {"kind": code, "item": entry["item"], "points": entry["points"]}
            for code in ("leaders", "bonus", "penalty")
            for entry in _entries_of(score.components[code])
        }
        agencies[score.agency] = {
            "public": {code: _source_inputs(f) for code, f in sources.items()},
            "indicators": {
                row["code"]: {"value": row["value"], "n": row["n"]} for row in score.indicators
            },
            "entries": entries,
        }
    return {
        "scheme": scheme.digest,
        "agencies": agencies,
        "districts": {
            card.district: {
                "satisfaction": {"value": card.satisfaction["value"], "n": card.satisfaction["n"]},
                "indicators": {
                    row["code"]: {"value": row["value"], "n": row["n"]} for row in card.indicators
                },
            }
            for card in districts
        },
    }


def _source_inputs(figure: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if figure is None:
        return None
    return {"value": figure["value"], "n": figure["n"], "n_uncounted": figure["n_uncounted"]}


def _entries_of(component: ComponentScore) -> list[dict[str, Any]]:
    if "entries" in component.details:
        return list(component.details["entries"])
    return [entry for item in component.details.get("items", []) for entry in item["entries"]]


def warnings_of(campaign_id: int | None, scores: Sequence[AgencyScore]) -> list[dict[str, Any]]:
    """What the evaluation office should know before publishing, as catalogue keys."""
    warnings: list[dict[str, Any]] = []
    if campaign_id is None:
        warnings.append({"code": "no_campaign"})
    for score in scores:
        if score.components["public"].points is None:
            warnings.append({"code": "no_survey_index", "agency": score.agency})
        if not score.components["leaders"].details["entered"]:
            warnings.append({"code": "no_leaders_score", "agency": score.agency})
    return warnings
