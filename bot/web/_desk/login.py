"""Signing in to the desk and out of it, with the brakes on guessing.

A sign-in is throttled per account and per client address (`storage.ratelimit.Backoff`:
after `CIVIC_LOGIN_FREE_FAILURES` failures of an account, or
`CIVIC_LOGIN_FREE_FAILURES_PER_IP` from one address, each attempt waits 1 s, 2 s, 4 s ...
up to `CIVIC_LOGIN_MAX_BACKOFF`; a success starts the account's count again). A throttled
attempt gets the login page with "try again in N minutes" and 429, and its password is
never checked, so waiting out the throttle is the only way to learn anything. The
password check itself (argon2, deliberately slow) runs at most
`CIVIC_LOGIN_HASH_CONCURRENCY` at a time, so a flood of sign-ins queues instead of taking
every core.
"""

from __future__ import annotations

import math

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from bot.web._desk import security
from bot.web._desk.render import Page, Renderer, redirect
from bot.web._desk.texts import requested_language
from bot.web._limits import WebLimits, client_ip
from civic.agencies import authenticate, end_session, start_session, user_for_session

MAX_CREDENTIAL = 1024


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def to_login(request: Request) -> Response:
    """To the login page, in the language asked for."""
    lang = requested_language(request)
    return redirect(request, f"/desk/login?lang={lang}" if lang else "/desk/login")


class LoginThrottle:
    def __init__(self, limits: WebLimits) -> None:
        self._backoff = limits.backoff
        self._policies = limits.login
        self.hashing = limits.password_checks

    @staticmethod
    def _account(username: str) -> str:
        return username.strip().lower()

    def attempt(self, username: str, ip: str) -> int:
        """0 when the attempt may go ahead (and is counted), else the seconds to wait."""
        checks = [(self._policies.account, self._account(username)), (self._policies.ip, ip)]
        return self._backoff.attempt(checks)

    def settle(self, username: str, ip: str, succeeded: bool) -> None:
        """A success clears the account's failures and takes this attempt back from the
        address's (shared by a whole office, it keeps counting failures only)."""
        if succeeded:
            self._backoff.succeeded(self._policies.account, self._account(username))
            self._backoff.not_a_failure(self._policies.ip, ip)


class SignIn:
    def __init__(
        self, sessions: sessionmaker[Session], renderer: Renderer, throttle: LoginThrottle
    ) -> None:
        self.sessions, self.renderer, self.throttle = sessions, renderer, throttle

    async def login_page(self, request: Request) -> Response:
        return await run_in_threadpool(self._login_page, request)

    def _login_page(self, request: Request) -> Response:
        with self.sessions() as session:
            if user_for_session(session=session, token=security.session_token(request)):
                return redirect(request, "/desk/")
        return self.form(request)

    def form(
        self, request: Request, error: str | None = None, status: int = 200, **params: object
    ) -> Response:
        token = request.cookies.get(security.LOGIN_CSRF_COOKIE) or security.new_login_token()
        page = self.renderer.page(request, None, token)
        failed = page.t(error, **params) if error else None
        response = self.renderer.render(
            page, "login.html", here="/desk/login", status=status, error=failed
        )
        security.set_cookie(request, response, security.LOGIN_CSRF_COOKIE, token, 3600)
        return response

    async def login(self, request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=5)
        expected = request.cookies.get(security.LOGIN_CSRF_COOKIE, "")
        if not security.same_token(expected, form.get(security.CSRF_FIELD)):
            return self.forbidden(self.renderer.page(request))
        username, password = _field(form, "username"), _field(form, "password")
        ip = client_ip(request)
        wait = self.throttle.attempt(username, ip)
        if wait:
            response = self.form(request, "login.throttled", 429, minutes=math.ceil(wait / 60))
            response.headers["Retry-After"] = str(wait)
            return response
        async with self.throttle.hashing:
            response, succeeded = await run_in_threadpool(
                self._sign_in, request, username, password
            )
        self.throttle.settle(username, ip, succeeded)
        return response

    def _sign_in(self, request: Request, username: str, password: str) -> tuple[Response, bool]:
        with self.sessions() as session:
            user = None
            if len(username) <= MAX_CREDENTIAL and len(password) <= MAX_CREDENTIAL:
                user = authenticate(session=session, username=username, password=password)
            if user is None:
                return self.form(request, "login.failed", 401), False
            token = start_session(session=session, user=user)
            session.commit()
        response = redirect(request, "/desk/")
        security.set_session_cookie(request, response, token)
        security.clear_cookie(request, response, security.LOGIN_CSRF_COOKIE)
        return response, True

    async def logout(self, request: Request) -> Response:
        token = security.session_token(request)
        if not token:
            return to_login(request)
        form = await request.form(max_files=0, max_fields=5)
        return await run_in_threadpool(self._sign_out, request, token, form)

    def _sign_out(self, request: Request, token: str, form: FormData) -> Response:
        if not security.same_token(security.csrf_token(token), form.get(security.CSRF_FIELD)):
            return self.forbidden(self.renderer.page(request))
        with self.sessions.begin() as session:
            end_session(session=session, token=token)
        response = redirect(request, "/desk/login", flash="flash.signed_out")
        security.clear_cookie(request, response, security.SESSION_COOKIE)
        return response

    def forbidden(self, page: Page) -> Response:
        return self.renderer.error(page, 403, page.t("error.csrf"))
