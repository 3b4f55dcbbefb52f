"""Surveys: questionnaires defined in YAML (`profiles/<city>/surveys/*.yml` or uploaded by
staff), checked on load, and walked step by step with skip logic and agency blocks.

The file format is described in `profiles/hangzhou/surveys/README.md`.
"""

from civic.surveys.loader import load_survey, load_surveys, parse_survey
from civic.surveys.model import (
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
from civic.surveys.source import SurveyError

__all__ = [
    "DONT_KNOW",
    "HANGZHOU_SCALE",
    "QUESTION_TYPES",
    "AgencyBlock",
    "Condition",
    "Option",
    "Question",
    "Scale",
    "Step",
    "Survey",
    "SurveyError",
    "load_survey",
    "load_surveys",
    "parse_survey",
]
