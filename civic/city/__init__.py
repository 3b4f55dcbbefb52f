"""The city as data: the profile (agencies, categories, districts, places), its
population, office hours, the website's pages and their search."""

from civic.city._map import district_map, project, unproject
from civic.city._population import load_population
from civic.city._profiles import (
    COMPLAINT_INTENT,
    Agency,
    Category,
    District,
    Integrity,
    Profile,
    get_profile,
    load_profile,
)
from civic.city._search import MIN_SCORE, SiteSearch, word_starts, words
from civic.city._site import Page, Site, identity_by_reply, load_site

__all__ = [
    "COMPLAINT_INTENT",
    "MIN_SCORE",
    "Agency",
    "Category",
    "District",
    "Integrity",
    "Page",
    "Profile",
    "Site",
    "SiteSearch",
    "district_map",
    "get_profile",
    "identity_by_reply",
    "load_population",
    "load_profile",
    "load_site",
    "project",
    "unproject",
    "word_starts",
    "words",
]
