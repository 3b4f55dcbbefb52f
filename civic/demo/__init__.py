"""A plausible year of data for a new installation to show: `civicbot demo seed`.

Tickets across every agency and category of the profile, with their whole lifecycle
and the overdue, reopen and reroute rates each agency's plan sets; citizens' ratings,
praise and suggestions; ratings at the service windows; and the year's survey
campaign over a stratified sample whose true satisfaction per district and per agency
is set by the generator and returned, so the published index can be checked against it.
"""

from civic.demo._lifecycle import UNFINISHED
from civic.demo._plans import AgencyPlan
from civic.demo._service import (
    OFFICE_USER,
    DatabaseNotEmpty,
    SeedOptions,
    SeedReport,
    existing_data,
    seed_demo,
)
from civic.demo._survey import SurveyTruth
from civic.demo._tickets import Tally

__all__ = [
    "OFFICE_USER",
    "UNFINISHED",
    "AgencyPlan",
    "DatabaseNotEmpty",
    "SeedOptions",
    "SeedReport",
    "SurveyTruth",
    "Tally",
    "existing_data",
    "seed_demo",
]
