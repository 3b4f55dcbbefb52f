"""Message catalogues for citizens, staff and the desk, in zh and en: one format
(`locales/<name>.<lang>.yml`), one loader, one completeness check; and the language of a text."""

from civic.i18n._catalogue import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    catalogue,
    detect_language,
    localised,
    normalise_language,
    placeholders,
    t,
)

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "catalogue",
    "detect_language",
    "localised",
    "normalise_language",
    "placeholders",
    "t",
]
