"""What the notices pages show: a notice as a row of the list, and its page's parts (the
evidence as figures, a chart and the sample comments; the problem, the commitment and its
milestones; the history with who did what), in the reader's language.

Only names and numbers are built here; who may see a notice is decided by the pages
(`notices.py`) and who may take a step by `civic.notices`."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.web._desk.render import Page
from bot.web._results.charts import Bar, Segment, stacked_bars
from civic.i18n import localised, t
from civic.notices import evidence_of, subject_label
from storage.models import AgencyUser, Comment, Notice

CODE_GROWTH = "code_growth"


def status_label(status: str, lang: str) -> str:
    return t(f"notices.status.{status}", lang)


def notice_row(page: Page, notice: Notice) -> dict[str, Any]:
    return {
        "id": notice.id,
        "number": notice.number,
        "agency": page.labels.agency(notice.agency),
        "subject": subject_label(notice, page.lang),
        "period": notice.period,
        "status": status_label(notice.status, page.lang),
        "due": notice.response_due.isoformat() if notice.response_due else "",
        "escalated": notice.escalated_at is not None,
    }


def _percent(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"


def evidence_view(page: Page, notice: Notice, timezone: str, *, samples: bool) -> dict[str, Any]:
    """The figures as (label, value) rows, the chart (code growth) and, when `samples`,
    the sample comments' redacted texts as they are now in the comment store."""
    evidence: dict[str, Any] = evidence_of(notice)
    rule = evidence.get("rule", {})
    year = evidence.get("year", notice.period)
    when = notice.proposed_at.astimezone(ZoneInfo(timezone)).date().isoformat()
    view: dict[str, Any] = {
        "intro": page.t("notices.evidence_intro", date=when),
        "rule": f"{rule.get('rule', notice.rule)} ({rule.get('kind', '')})",
        "rows": [],
        "chart": None,
        "samples": None,
    }
    if rule.get("kind") == CODE_GROWTH:
        view["rows"] = _growth_rows(page, evidence, int(year))
        view["chart"] = _chart(page, notice, evidence, int(year))
        if samples:
            view["samples"] = evidence.get("samples", [])
    elif "index" in evidence:
        view["rows"] = [
            (page.t("notices.index"), f"{float(evidence['index']):.1f}"),
            (page.t("notices.target"), f"{float(evidence['target']):g}"),
            (
                page.t("notices.rule"),
                page.t("notices.snapshot", version=evidence.get("snapshot_version")),
            ),
        ]
    elif "value" in evidence:
        view["rows"] = [
            (page.t("notices.rate"), _percent(evidence["value"])),
            (page.t("notices.limit"), _percent(evidence.get("over"))),
            (page.t("notices.tickets"), str(evidence.get("n", ""))),
            (
                page.t("notices.rule"),
                page.t("notices.snapshot", version=evidence.get("snapshot_version")),
            ),
        ]
    return view


def _growth_rows(page: Page, evidence: dict[str, Any], year: int) -> list[tuple[str, str]]:
    this, last = str(year), str(year - 1)
    p_value = evidence.get("p_value")
    return [
        (f"{page.t('notices.comments')}, {this}", str(evidence.get("count"))),
        (f"{page.t('notices.all_comments')}, {this}", str(evidence.get("total"))),
        (f"{page.t('notices.share')}, {this}", _percent(evidence.get("share"))),
        (f"{page.t('notices.comments')}, {last}", str(evidence.get("last_count"))),
        (f"{page.t('notices.all_comments')}, {last}", str(evidence.get("last_total"))),
        (f"{page.t('notices.share')}, {last}", _percent(evidence.get("last_share"))),
        (page.t("notices.change"), f"{int(evidence.get('change', 0)):+d}"),
        (page.t("notices.growth"), _percent(evidence.get("growth"))),
        (page.t("notices.p_value"), "—" if p_value is None else f"{float(p_value):.4f}"),
        (page.t("notices.accepted"), str(evidence.get("accepted"))),
    ]


def _chart(page: Page, notice: Notice, evidence: dict[str, Any], year: int) -> Markup | None:
    months = evidence.get("monthly") or []
    if not months:
        return None
    most = max((int(m["count"]) for m in months), default=0) or 1
    bars = [
        Bar(
            m["month"],
            (Segment(f"{m['month']}: {m['count']}", float(m["count"])),),
            str(m["count"]),
        )
        for m in months
    ]
    code = subject_label(notice, page.lang)
    return stacked_bars(
        bars,
        [page.t("notices.chart_legend")],
        maximum=float(most),
        title=page.t("notices.chart_title", year=year),
        description=page.t(
            "notices.chart_description",
            agency=page.labels.agency(notice.agency),
            code=code,
            year=year,
        ),
        ident=f"notice-{notice.id}-chart",
    )


def sample_texts(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    """The sample comments' redacted texts, in the evidence's order; a comment gone from
    the store is shown as gone."""
    found = {c.id: c for c in session.scalars(select(Comment).where(Comment.id.in_(ids)))}
    return [
        {"id": i, "month": found[i].month, "text": found[i].text} if i in found else {"id": i}
        for i in ids
    ]


def milestone_rows(page: Page, notice: Notice, timezone: str) -> list[dict[str, Any]]:
    zone = ZoneInfo(timezone)
    return [
        {
            "id": m.id,
            "position": m.position,
            "text": localised({"zh": m.text_zh, "en": m.text_en}, page.lang),
            "due": m.due.isoformat(),
            "done": page.t("notices.done_on", date=m.done_at.astimezone(zone).date().isoformat())
            if m.done_at
            else page.t("notices.not_done"),
            "is_done": m.done_at is not None,
        }
        for m in notice.milestones
    ]


def history_rows(
    session: Session, page: Page, notice: Notice, timezone: str
) -> list[dict[str, Any]]:
    zone = ZoneInfo(timezone)
    ids = {e.user_id for e in notice.events if e.user_id is not None}
    users = {u.id: u for u in session.scalars(select(AgencyUser).where(AgencyUser.id.in_(ids)))}
    rows = []
    for event in notice.events:
        user = users.get(event.user_id) if event.user_id is not None else None
        rows.append(
            {
                "at": _minute(event.at, zone),
                "who": _who(page, user, event.action),
                "what": t(f"notices.action.{event.action}", page.lang),
                "note": localised({"zh": event.note_zh, "en": event.note_en}, page.lang),
                "public": page.t("notices.public") if event.public else page.t("notices.desk_only"),
            }
        )
    return rows


def _who(page: Page, user: AgencyUser | None, action: str) -> str:
    if user is None:
        return page.t("notices.rules_user" if action == "proposed" else "notices.scheduler_user")
    where = page.labels.agency(user.agency) if user.agency else page.t("nav.office")
    return page.t("nav.user", name=user.display_name, agency=where)


def _minute(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
