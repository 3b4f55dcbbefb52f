"""Public-opinion analysis: one comment store over every free text a citizen gives
(complaints, survey open answers, window comments, reasons for reopening), redacted and
coded against the profile's codebook (`profiles/<city>/opinion/codebook.yml`, described in
the README beside it); and its trends: counts and shares by code, agency, district and
period, the change on the year before with its significance, and the top problems; and
coding by hand: office staff code comments, two coders double-code a random sample and
their agreement is measured (Cohen's kappa). The trends read counts kept per month,
agency and district (`comment_counts`), rebuilt where comments or codes changed."""

from civic.opinion._agreement import Agreement, Disagreement, Kappa, agreement, cohen_kappa
from civic.opinion._codebook import (
    Code,
    Codebook,
    CodebookError,
    Rule,
    codebook_path,
    load_codebook,
)
from civic.opinion._coding import (
    MAX_SAMPLE,
    CodingRefused,
    adjudicate,
    code_comment,
    codings_of,
    draw_sample,
    is_office,
    next_uncoded,
    sample_items,
    split_codes,
    visible_codings,
)
from civic.opinion._collect import (
    ACCEPTED,
    SOURCES,
    SUGGESTED,
    Collected,
    accept_codes,
    collect_comments,
)
from civic.opinion._counts import Cell, mark_dirty, rebuild_counts, refresh_counts
from civic.opinion._scheduled import JOBS
from civic.opinion._selection import CommentFilter, find_comments
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
    "MAX_SAMPLE",
    "SOURCES",
    "STAFF",
    "SUGGESTED",
    "Agreement",
    "Cell",
    "Code",
    "Codebook",
    "CodebookError",
    "CodingRefused",
    "Collected",
    "CommentFilter",
    "Disagreement",
    "Doc",
    "Grouping",
    "Kappa",
    "Rule",
    "TopicError",
    "TopicFilter",
    "TrendRow",
    "YearOverYear",
    "accept_codes",
    "accept_topic",
    "adjudicate",
    "agreement",
    "automatic_k",
    "code_comment",
    "codebook_path",
    "codings_of",
    "cohen_kappa",
    "collect_comments",
    "comment_totals",
    "draw_sample",
    "find_comments",
    "group_texts",
    "group_topics",
    "is_office",
    "latest_run",
    "load_codebook",
    "mark_dirty",
    "merge_topics",
    "next_uncoded",
    "normal_cdf",
    "rebuild_counts",
    "refresh_counts",
    "rename_topic",
    "run_topics",
    "sample_comments",
    "sample_items",
    "split_codes",
    "split_topic",
    "top_problems",
    "topic_terms",
    "trend_table",
    "two_proportion_p_value",
    "uncoded_count",
    "visible_codings",
    "year_over_year",
]
