"""Surveys: questionnaires defined in YAML (`profiles/<city>/surveys/*.yml` or uploaded by
staff), checked on load, and walked step by step with skip logic and agency blocks.

The file format is described in `profiles/hangzhou/surveys/README.md`.
"""

from civic.surveys._chat import ButtonHandler, SmsSurveys, SurveyChat, numbered_answers
from civic.surveys._loader import load_survey, load_surveys, parse_survey
from civic.surveys._model import (
    DONT_KNOW,
    HANGZHOU_SCALE,
    QUESTION_TYPES,
    AgencyBlock,
    Condition,
    Option,
    Question,
    Scale,
    Step,
    Survey,
)
from civic.surveys._report import chart, export_results, survey_report
from civic.surveys._results import (
    CSV_COLUMNS,
    QuestionResult,
    agency_chart_png,
    results_csv,
    survey_results,
)
from civic.surveys._service import (
    get_survey,
    list_definitions,
    save_definition,
    sync_profile_surveys,
)
from civic.surveys._source import SurveyError
from civic.surveys._statistics import (
    IndexResult,
    Observation,
    distribution,
    mean,
    satisfaction_index,
)
from civic.surveys._weighting import MIN_CELL

__all__ = [
    "CSV_COLUMNS",
    "DONT_KNOW",
    "HANGZHOU_SCALE",
    "MIN_CELL",
    "QUESTION_TYPES",
    "AgencyBlock",
    "ButtonHandler",
    "Condition",
    "IndexResult",
    "Observation",
    "Option",
    "Question",
    "QuestionResult",
    "Scale",
    "SmsSurveys",
    "Step",
    "Survey",
    "SurveyChat",
    "SurveyError",
    "agency_chart_png",
    "chart",
    "distribution",
    "export_results",
    "get_survey",
    "list_definitions",
    "load_survey",
    "load_surveys",
    "mean",
    "numbered_answers",
    "parse_survey",
    "results_csv",
    "satisfaction_index",
    "save_definition",
    "survey_report",
    "survey_results",
    "sync_profile_surveys",
]
