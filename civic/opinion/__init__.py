"""Public-opinion analysis: one comment store over every free text a citizen gives
(complaints, survey open answers, window comments, reasons for reopening), redacted and
coded against the profile's codebook (`profiles/<city>/opinion/codebook.yml`, described in
the README beside it); and its trends: counts and shares by code, agency, district and
period, the change on the year before with its significance, and the top problems."""

from civic.opinion._codebook import (
    Code,
    Codebook,
    CodebookError,
    Rule,
    codebook_path,
    load_codebook,
)
from civic.opinion._collect import (
    ACCEPTED,
    SOURCES,
    SUGGESTED,
    Collected,
    accept_codes,
    collect_comments,
)
from civic.opinion._scheduled import JOBS
from civic.opinion._sources import STAFF
from civic.opinion._trends import (
    DIMENSIONS,
    GRAINS,
    LEVELS,
    TrendRow,
    YearOverYear,
    comment_totals,
    normal_cdf,
    top_problems,
    trend_table,
    two_proportion_p_value,
    year_over_year,
)

__all__ = [
    "ACCEPTED",
    "DIMENSIONS",
    "GRAINS",
    "JOBS",
    "LEVELS",
    "SOURCES",
    "STAFF",
    "SUGGESTED",
    "Code",
    "Codebook",
    "CodebookError",
    "Collected",
    "Rule",
    "TrendRow",
    "YearOverYear",
    "accept_codes",
    "codebook_path",
    "collect_comments",
    "comment_totals",
    "load_codebook",
    "normal_cdf",
    "top_problems",
    "trend_table",
    "two_proportion_p_value",
    "year_over_year",
]
