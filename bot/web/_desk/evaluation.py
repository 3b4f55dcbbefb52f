"""The desk's public-evaluation pages, mounted at `/desk/evaluation`: campaign progress
(evaluation office), survey results with a chart per agency, window ratings and praise.

An agency's users see only their own agency's results and windows; campaigns, strata and
the CSV export are for the evaluation office. No personal data is on these pages.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from bot.web._desk import security
from bot.web._desk.render import Page, Renderer, redirect
from bot.web._desk.texts import requested_language
from civic.agencies import is_office, user_for_session
from civic.campaigns import progress
from civic.city import Profile
from civic.feedback import praise_counts
from civic.settings import get_settings
from civic.surveys import (
    QuestionResult,
    chart,
    get_survey,
    list_definitions,
    results_csv,
    survey_report,
)
from storage.models import AgencyUser, Campaign
from storage.tickets import ticket_satisfaction
from storage.windows import review_held, window_summary

SCALE_LABELS = {
    "satisfied": "evaluation.scale.satisfied",
    "basically_satisfied": "evaluation.scale.basically_satisfied",
    "dissatisfied": "evaluation.scale.dissatisfied",
}
Endpoint = Callable[..., Coroutine[Any, Any, Response]]


class Evaluation:
    def __init__(self, sessions: sessionmaker[Session], profile: Profile) -> None:
        self.sessions, self.profile = sessions, profile
        self.renderer = Renderer(profile)

    def _user(self, session: Session, request: Request) -> AgencyUser | None:
        return user_for_session(session=session, token=security.session_token(request))

    def _page(self, request: Request, user: AgencyUser) -> Page:
        token = security.csrf_token(security.session_token(request))
        return self.renderer.page(request, user, token)

    def _login(self, request: Request) -> Response:
        lang = requested_language(request)
        return redirect(request, f"/desk/login?lang={lang}" if lang else "/desk/login")

    def _missing(self, page: Page) -> Response:
        return self.renderer.error(page, 404, page.t("evaluation.not_found"))

    async def overview(self, request: Request) -> Response:
        return await run_in_threadpool(self._overview, request)

    def _overview(self, request: Request) -> Response:
        with self.sessions() as session:
            user = self._user(session, request)
            if user is None:
                return self._login(request)
            page = self._page(request, user)
            campaigns = []
            if is_office(user):
                for campaign in session.scalars(select(Campaign).order_by(Campaign.id.desc())):
                    campaigns.append((campaign, progress(session=session, campaign_id=campaign.id)))
            counted = self.profile.integrity.counted_levels
            windows = window_summary(session=session, agency=user.agency, counted=counted)
            satisfaction = ticket_satisfaction(session=session, agency=user.agency, counted=counted)
            surveys = [d.key for d in list_definitions(session=session)]
            praise = praise_counts(session=session, counted=counted)
            return self.renderer.render(
                page,
                "evaluation.html",
                here="/desk/evaluation",
                campaigns=campaigns,
                windows=[_window_row(w, page, counted) for w in windows],
                satisfaction=[_satisfaction_row(r, page, counted) for r in satisfaction],
                counted=_levels_text(page, counted),
                reviewer=is_office(user),
                surveys=surveys,
                praise=_praise_rows(praise, page, user.agency),
            )

    async def review_held(self, request: Request, window_id: int) -> Response:
        form = await request.form(max_files=0, max_fields=5)
        return await run_in_threadpool(self._review_held, request, window_id, form)

    def _review_held(self, request: Request, window_id: int, form: Any) -> Response:
        """The evaluation office releases a window's held ratings into its figures, or
        discards them."""
        with self.sessions() as session:
            user = self._user(session, request)
            if user is None:
                return self._login(request)
            page = self._page(request, user)
            if not security.same_token(page.csrf, form.get(security.CSRF_FIELD)):
                return self.renderer.error(page, 403, page.t("error.csrf"))
            decision = form.get("decision")
            if user.agency is not None or decision not in {"release", "discard"}:
                return self._missing(page)
            count = review_held(session=session, window_id=window_id, release=decision == "release")
            session.commit()
        flash = f"flash.held_{decision}d" if count else "flash.held_none"
        return redirect(request, "/desk/evaluation", flash=flash)

    async def campaign(self, request: Request, campaign_id: int) -> Response:
        return await run_in_threadpool(self._campaign, request, campaign_id)

    def _campaign(self, request: Request, campaign_id: int) -> Response:
        with self.sessions() as session:
            user = self._user(session, request)
            if user is None:
                return self._login(request)
            page = self._page(request, user)
            campaign = session.get(Campaign, campaign_id)
            if user.agency is not None or campaign is None:
                return self._missing(page)
            report = progress(session=session, campaign_id=campaign_id)
            return self.renderer.render(
                page,
                "campaign.html",
                here=f"/desk/evaluation/campaigns/{campaign_id}",
                campaign=campaign,
                report=report,
                sms_cost=report.sms_cost(get_settings().sms_cost_per_segment),
                strata=sorted(report.strata.items()),
            )

    def _results(
        self, session: Session, user: AgencyUser, key: str
    ) -> tuple[list[QuestionResult], Any] | None:
        survey = get_survey(session=session, key=key, agencies=self.profile.agencies)
        if survey is None:
            return None
        rows = survey_report(session, self.profile, survey)
        if user.agency is not None:
            rows = [r for r in rows if r.agency in (None, user.agency)]
        return rows, survey

    async def results(self, request: Request, key: str) -> Response:
        return await run_in_threadpool(self._results_page, request, key)

    def _results_page(self, request: Request, key: str) -> Response:
        with self.sessions() as session:
            user = self._user(session, request)
            if user is None:
                return self._login(request)
            page = self._page(request, user)
            found = self._results(session, user, key)
            if found is None:
                return self._missing(page)
            rows, survey = found
            agencies = sorted({r.agency for r in rows if r.agency})
            return self.renderer.render(
                page,
                "results.html",
                here=f"/desk/evaluation/results/{key}",
                survey=survey,
                key=key,
                title=survey.text("title", page.lang),
                rows=[_result_row(r, survey, page) for r in rows],
                agencies=[(a, survey.agency_name(a, page.lang)) for a in agencies],
            )

    async def results_csv(self, request: Request, key: str) -> Response:
        return await run_in_threadpool(self._results_csv, request, key)

    def _results_csv(self, request: Request, key: str) -> Response:
        with self.sessions() as session:
            user = self._user(session, request)
            if user is None or user.agency is not None:
                return Response("Not found", status_code=404, media_type="text/plain")
            found = self._results(session, user, key)
        if found is None:
            return Response("Not found", status_code=404, media_type="text/plain")
        headers = {"Content-Disposition": f'attachment; filename="{key}-results.csv"'}
        return Response(
            results_csv(found[0]), media_type="text/csv; charset=utf-8", headers=headers
        )

    async def agency_chart(self, request: Request, key: str, agency: str) -> Response:
        return await run_in_threadpool(self._agency_chart, request, key, agency)

    def _agency_chart(self, request: Request, key: str, agency: str) -> Response:
        with self.sessions() as session:
            user = self._user(session, request)
            allowed = user is not None and user.agency in (None, agency)
            found = self._results(session, user, key) if user is not None and allowed else None
        if found is None:
            return Response("Not found", status_code=404, media_type="text/plain")
        rows, survey = found
        png = chart(rows, survey, agency, "zh" if "zh" in request.url.query else "en")
        return Response(png, media_type="image/png", headers={"Cache-Control": "private"})


LEVEL_LABELS = {
    "anonymous": "evaluation.level.anonymous",
    "account": "evaluation.level.account",
    "verified_phone": "evaluation.level.verified_phone",
    "invited": "evaluation.level.invited",
}


def _levels_text(page: Page, levels: Any) -> str:
    return ", ".join(page.t(LEVEL_LABELS[level]) for level in LEVEL_LABELS if level in levels)


def _by_level(page: Page, counts: dict[str, int], counted: Any) -> str:
    """'Verified phone 12, Anonymous 40 (not counted)': every level, counted or not."""
    parts = []
    for level, key in LEVEL_LABELS.items():
        if counts.get(level):
            apart = "" if level in counted else f" ({page.t('evaluation.not_counted')})"
            parts.append(f"{page.t(key)} {counts[level]}{apart}")
    return ", ".join(parts) or "—"


def _satisfaction_row(entry: dict[str, Any], page: Page, counted: Any) -> dict[str, Any]:
    return {
        "agency": page.labels.agency(entry["agency"]),
        "rated": entry["rated"],
        "hangzhou": ", ".join(
            f"{page.t(SCALE_LABELS[code])} {count}" for code, count in entry["hangzhou"].items()
        )
        or "—",
        "levels": _by_level(page, entry["levels"], counted),
    }


def _praise_rows(
    counts: dict[str, dict[str, int]], page: Page, agency: str | None
) -> list[dict[str, Any]]:
    """Praise per agency, most counted first; an agency's users see their own line."""
    mine = [(code, c) for code, c in counts.items() if agency in (None, code)]
    mine.sort(key=lambda item: (-item[1]["counted"], -item[1]["all"], item[0]))
    return [
        {"agency": page.labels.agency(code), "counted": c["counted"], "all": c["all"]}
        for code, c in mine
    ]


def _window_row(entry: dict[str, Any], page: Page, counted: Any) -> dict[str, Any]:
    window = entry["window"]
    stars = entry["stars"]
    return {
        "id": window.id,
        "held": entry["held"],
        "levels": _by_level(page, entry["levels"], counted),
        "agency": page.labels.agency(window.agency),
        "hall": window.hall,
        "number": window.number,
        "ratings": entry["ratings"],
        "stars": f"{sum(stars) / len(stars):.2f}" if stars else "—",
        "hangzhou": ", ".join(
            f"{page.t(SCALE_LABELS[code])} {count}" for code, count in entry["hangzhou"].items()
        ),
    }


def _result_row(row: QuestionResult, survey: Any, page: Page) -> dict[str, Any]:
    index = row.index
    question = next((q for q in survey.questions() if q.id == row.question), None)
    return {
        "agency": survey.agency_name(row.agency, page.lang)
        if row.agency
        else page.t("evaluation.citywide"),
        "question": question.prompt(page.lang).replace("{agency}", "…") if question else "",
        "value": "—" if index.value is None else f"{index.value:.1f}",
        "ci": "" if index.ci_low is None else f"{index.ci_low:.1f}–{index.ci_high:.1f}",
        "n": index.n,
        "dont_know": index.n_dont_know,
        "weighted": index.weighted,
        "self_selected": row.self_selected,
        "distribution": ", ".join(
            f"{_answer_label(survey, question, code, page.lang)} {count}"
            for code, count in row.distribution.items()
        ),
    }


def _answer_label(survey: Any, question: Any, code: str, lang: str) -> str:
    """An answer's label in `lang` (the code if the question no longer has it)."""
    option = question.option(code) if question is not None else None
    if option is not None:
        return str(option.text(lang))
    if code == "dont_know":
        return str(survey.dont_know_label.get(lang) or code)
    return code


def evaluation_router(*, sessions: sessionmaker[Session], profile: Profile) -> APIRouter:
    """Mounted with prefix `/desk`, before the desk's own router."""
    from bot.web._desk.router import DeskRoute

    pages = Evaluation(sessions, profile)
    router = APIRouter(route_class=DeskRoute)
    routes: list[tuple[str, Endpoint]] = [
        ("/evaluation", pages.overview),
        ("/evaluation/campaigns/{campaign_id:int}", pages.campaign),
        ("/evaluation/results/{key}.csv", pages.results_csv),
        ("/evaluation/results/{key}/{agency}.png", pages.agency_chart),
        ("/evaluation/results/{key}", pages.results),
    ]
    for path, endpoint in routes:
        router.add_api_route(path, endpoint, methods=["GET"], include_in_schema=False)
    router.add_api_route(
        "/evaluation/windows/{window_id:int}/held",
        pages.review_held,
        methods=["POST"],
        include_in_schema=False,
    )
    return router
