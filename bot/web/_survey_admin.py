"""`/admin/surveys`: the evaluation office manages surveys through an API, with an
evaluation-office API key (`civicbot agency add-key --all`; `--write` to upload).

    GET  /admin/surveys            the surveys and their versions
    GET  /admin/surveys/{key}      one survey's YAML
    PUT  /admin/surveys/{key}      upload a survey (YAML body); checked like the profile's,
                                   a bad one is refused with its line: 422 {"error", "line"}

The key goes in `Authorization: Bearer <key>`. Agencies' keys are refused: surveys are
the evaluation office's.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from civic.agencies import api_key_for
from civic.city import Profile
from civic.surveys import SurveyError, list_definitions, save_definition
from storage.models import ApiKey, SurveyDefinition

MAX_SURVEY_BYTES = 256 * 1024


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _office_key(session: Session, request: Request, write: bool) -> ApiKey | JSONResponse:
    raw = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    key = api_key_for(session=session, raw=raw) if raw else None
    if key is None:
        return _error(401, "an evaluation-office API key is required (Authorization: Bearer)")
    if key.agency is not None or (write and not key.can_write):
        return _error(403, "this API key may not manage surveys")
    return key


def survey_admin_router(*, sessions: sessionmaker[Session], profile: Profile) -> APIRouter:
    router = APIRouter()

    def listing(request: Request) -> Response:
        with sessions() as session:
            denied = _office_key(session, request, write=False)
            if isinstance(denied, JSONResponse):
                return denied
            rows = list_definitions(session=session)
            return JSONResponse(
                [
                    {
                        "key": r.key,
                        "version": r.version,
                        "origin": r.origin,
                        "updated_at": r.updated_at.isoformat(),
                    }
                    for r in rows
                ]
            )

    def one(request: Request, key: str) -> Response:
        with sessions() as session:
            denied = _office_key(session, request, write=False)
            if isinstance(denied, JSONResponse):
                return denied
            row = session.get(SurveyDefinition, key)
            if row is None:
                return _error(404, f"no survey {key!r}")
            return PlainTextResponse(row.source, media_type="application/yaml; charset=utf-8")

    def upload(request: Request, key: str, body: bytes) -> Response:
        if len(body) > MAX_SURVEY_BYTES:
            return _error(413, f"a survey is at most {MAX_SURVEY_BYTES} bytes")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return _error(400, "the survey must be UTF-8 text")
        with sessions.begin() as session:
            denied = _office_key(session, request, write=True)
            if isinstance(denied, JSONResponse):
                return denied
            try:
                row = save_definition(
                    session=session,
                    key=key,
                    source=text,
                    origin="admin",
                    name=f"{key}.yml",
                    agencies=profile.agencies,
                )
            except SurveyError as exc:
                return _error(422, exc.message, line=exc.line)
            except ValueError as exc:
                return _error(422, str(exc))
            return JSONResponse({"key": row.key, "version": row.version})

    @router.get("/admin/surveys")
    async def get_list(request: Request) -> Response:
        return await run_in_threadpool(listing, request)

    @router.get("/admin/surveys/{key}")
    async def get_one(request: Request, key: str) -> Response:
        return await run_in_threadpool(one, request, key)

    def may_upload(request: Request) -> JSONResponse | None:
        with sessions() as session:
            denied = _office_key(session, request, write=True)
            return denied if isinstance(denied, JSONResponse) else None

    @router.put("/admin/surveys/{key}")
    async def put_one(request: Request, key: str) -> Response:
        # The key first: nobody without one gets as far as sending us a body.
        denied = await run_in_threadpool(may_upload, request)
        if denied is not None:
            return denied
        body = await request.body()
        return await run_in_threadpool(upload, request, key, body)

    return router
