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
from civic.opinion._topic_model import Doc, Grouping, automatic_k, group_texts
from civic.opinion._topics import (
    TopicError,
    TopicFilter,
    accept_topic,
    group_topics,
    latest_run,
    merge_topics,
    rename_topic,
    run_topics,
    sample_comments,
    split_topic,
    topic_terms,
    uncoded_count,
)
from civic.opinion._trends import (
    DIMENSIONS,
    GRAINS,
    LEVELS,
    TrendRow,
    YearOverYear,
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
    "Doc",
    "Grouping",
    "Rule",
    "TopicError",
    "TopicFilter",
    "TrendRow",
    "YearOverYear",
    "accept_codes",
    "accept_topic",
    "automatic_k",
    "codebook_path",
    "collect_comments",
    "group_texts",
    "group_topics",
    "latest_run",
    "load_codebook",
    "merge_topics",
    "normal_cdf",
    "rename_topic",
    "run_topics",
    "sample_comments",
    "split_topic",
    "top_problems",
    "topic_terms",
    "trend_table",
    "two_proportion_p_value",
    "uncoded_count",
    "year_over_year",
]
