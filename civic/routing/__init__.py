"""Which category, agency and district a complaint belongs to, from the NLU's
ranking of complaint kinds, the place names of the profile's gazetteer and a location pin."""

from civic.routing._router import (
    DEFAULT_CONFIDENCE_THRESHOLD,
    Alternative,
    Gazetteer,
    RoutingDecision,
    category_ranking,
    is_unsure,
    route,
)

__all__ = [
    "DEFAULT_CONFIDENCE_THRESHOLD",
    "Alternative",
    "Gazetteer",
    "RoutingDecision",
    "category_ranking",
    "is_unsure",
    "route",
]
