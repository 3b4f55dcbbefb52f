"""The desk's cookies, CSRF tokens and response headers.

The CSRF token of a logged-in user is an HMAC of the session token, so it needs no storage,
differs per session, and cannot be computed without the HttpOnly session cookie. The login
form, which has no session yet, uses a random token held in a cookie (double submit).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from civic.agencies import SESSION_TTL

SESSION_COOKIE = "desk_session"
LOGIN_CSRF_COOKIE = "desk_login_csrf"
FLASH_COOKIE = "desk_flash"
COOKIE_PATH = "/desk"
CSRF_FIELD = "csrf"

# No script at all; styles and images only from the desk itself; forms post only here.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        name,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    set_cookie(request, response, SESSION_COOKIE, token, int(SESSION_TTL.total_seconds()))


def session_token(request: Request) -> str:
    return request.cookies.get(SESSION_COOKIE, "")


def csrf_token(session_token: str) -> str:
    """The CSRF token for forms of the session with this (raw) token."""
    return hmac.new(session_token.encode(), b"civic-desk-csrf", hashlib.sha256).hexdigest()


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(expected: str, given: object) -> bool:
    """Constant-time comparison; a missing or non-text field never matches."""
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
