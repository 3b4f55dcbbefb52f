"""How well the running assistant handles a conversation: every message of a TSV set
(`benchmarks/data/conversation_heldout.tsv`; `--set dev` for `conversation_dev.tsv`) is
sent from a fresh web-chat session, and the reply is judged by what the citizen sees
(and, where the reply promises something, by what was stored). Prints the share handled
right per class and language as a Markdown table; the misses go to `--misses`.

Starts `civicbot run` (the real Rasa server, action server and web app; no Telegram) on
a scratch SQLite database with the limits off, unless `--url` names a web app already
running; then `--database-url` must be that app's database (for seeding and checking).

Right, per class (texts from the catalogues, the domain and the profile's FAQ):
  out_of_scope  conversation.out_of_scope
  small_talk    greet: assistant.greeting (action_greet); thanks, goodbye, bot_challenge:
                utter_you_are_welcome, utter_goodbye, utter_iamabot; how_are_you:
                conversation.how_are_you
  help          conversation.capabilities
  status        the citizen has two tickets of their own and someone else has one:
                `list` shows both own numbers; `describe:<category>` the own ticket of
                that category and not the other; `own_number` that number with its
                status; `other_number` tickets_lookup.not_yours, without its category
  praise        feedback.praise_thanks(_unnamed), a praise row (for the expected agency
                when one is expected), no ticket, no handoff
  suggestion    the same with feedback.suggestion_thanks(_unrouted)
  faq           the expected entry's answer
  handoff       a handoff opened for the citizen, or handoff.queued_open/closed
  complaint     one of the complaint form's next questions, and no out-of-scope or FAQ
                answer

    .venv/bin/python benchmarks/conversation.py [--set dev] [--misses PATH]
        [--url http://127.0.0.1:8080 --database-url sqlite:///var/civic.db]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import re
import string
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.attackers import progress, running_stack  # noqa: E402
from civic.city import Profile, Site, get_profile, load_site  # noqa: E402
from civic.i18n import catalogue, t  # noqa: E402
from civic.routing import RoutingDecision  # noqa: E402
from civic.tickets import create_ticket  # noqa: E402
from storage.citizens import get_or_create_citizen  # noqa: E402
from storage.db import session_factory, session_scope  # noqa: E402
from storage.models import ChannelAddress, Feedback, Handoff, Ticket  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
SETS = {"heldout": DATA / "conversation_heldout.tsv", "dev": DATA / "conversation_dev.tsv"}
HEADER = ["language", "class", "message", "expect"]
DOMAIN = ROOT / "nlu" / "domain.yml"
LIMITS_OFF = {
    "CIVIC_CHAT_LIMIT_PER_SESSION": "0",
    "CIVIC_CHAT_LIMIT_PER_IP": "0",
    "CIVIC_TICKETS_PER_DAY": "0",
}
SMALL_TALK = {
    "greet": "assistant.greeting",  # action_greet
    "thanks": "utter_you_are_welcome",
    "goodbye": "utter_goodbye",
    "bot_challenge": "utter_iamabot",
    "how_are_you": "conversation.how_are_you",
}
THANKS = {
    "praise": ("feedback.praise_thanks", "feedback.praise_thanks_unnamed"),
    "suggestion": ("feedback.suggestion_thanks", "feedback.suggestion_thanks_unrouted"),
}
# What the complaint form asks next (actions/complaints.py and the domain's utter_ask_*).
COMPLAINT_QUESTIONS = (
    "complaint.which_category",
    "utter_ask_location",
    "complaint.duplicate_found",
    "utter_ask_photo",
    "complaint.ask_contact",
)
HANDOFF_REPLIES = ("handoff.queued_open", "handoff.queued_closed")
# The status citizen's tickets: the described category (or the first) and a companion;
# the other citizen's ticket is of a category neither has.
STATUS_CATEGORIES = ("street-light", "garbage-collection")
OTHER_CATEGORY = "water-outage"


@dataclass(frozen=True)
class Case:
    language: str
    klass: str
    message: str
    expect: str


@dataclass(frozen=True)
class SeedTicket:
    number: str
    category: str
    label: str  # the category as the citizen reads it
    status: str  # the status as the citizen reads it


@dataclass(frozen=True)
class Seeded:
    own: list[SeedTicket]
    other: SeedTicket


@dataclass
class Seen:
    """What the citizen was shown, and what the turn stored for them."""

    texts: list[str]
    feedback: list[tuple[str, str | None]] = field(default_factory=list)  # (kind, agency)
    new_tickets: int = 0
    handoff: bool = False


class Texts:
    """The texts a citizen should see, from the catalogues, the domain and the FAQ."""

    def __init__(self, site: Site, domain_path: Path = DOMAIN) -> None:
        self.faq = site.faq
        self.responses = yaml.safe_load(domain_path.read_text(encoding="utf-8"))["responses"]

    def template(self, name: str, lang: str) -> str:
        """A catalogue text with its {placeholders}, or a domain response as a template."""
        if not name.startswith("utter_"):
            return catalogue(lang)[name]
        variants = self.responses[name]
        chosen = next(
            (
                v
                for v in variants
                for c in v.get("condition") or []
                if c.get("name") == "language" and c.get("value") == lang
            ),
            next(v for v in variants if not v.get("condition")),
        )
        return _literal(chosen["text"])

    def faq_answer(self, key: str, lang: str) -> str:
        return _literal(self.faq[key].answer[lang])


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def fits(template: str, text: str) -> bool:
    """Does `text` read as `template`, whatever fills its placeholders?"""
    parts = []
    for literal, name, _, _ in string.Formatter().parse(template.strip()):
        parts.append(re.escape(literal))
        if name is not None:
            parts.append(".*?")
    return re.fullmatch("".join(parts), text.strip(), re.DOTALL) is not None


def shows(seen: Seen, *templates: str) -> bool:
    return any(fits(template, text) for template in templates for text in seen.texts)


def judge(case: Case, seen: Seen, texts: Texts, seeded: Seeded | None = None) -> bool:
    """Was the message handled right, judged by what the citizen saw and what was stored?"""
    lang = case.language
    if case.klass == "out_of_scope":
        return shows(seen, texts.template("conversation.out_of_scope", lang))
    if case.klass == "help":
        return shows(seen, texts.template("conversation.capabilities", lang))
    if case.klass == "small_talk":
        return shows(seen, texts.template(SMALL_TALK[case.expect], lang))
    if case.klass == "faq":
        return shows(seen, texts.faq_answer(case.expect, lang))
    if case.klass == "handoff":
        return seen.handoff or shows(seen, *(texts.template(k, lang) for k in HANDOFF_REPLIES))
    if case.klass in THANKS:
        return _feedback_right(case, seen, texts)
    if case.klass == "complaint":
        return _complaint_right(case, seen, texts)
    if case.klass == "status":
        assert seeded is not None, "status cases are judged against the seeded tickets"
        return _status_right(case, seen, seeded)
    raise ValueError(f"unknown class {case.klass!r}")


def _feedback_right(case: Case, seen: Seen, texts: Texts) -> bool:
    thanked = shows(seen, *(texts.template(k, case.language) for k in THANKS[case.klass]))
    agencies = [agency for kind, agency in seen.feedback if kind == case.klass]
    recorded = bool(agencies) and (not case.expect or case.expect in agencies)
    return thanked and recorded and seen.new_tickets == 0 and not seen.handoff


def _complaint_right(case: Case, seen: Seen, texts: Texts) -> bool:
    lang = case.language
    asked = shows(seen, *(texts.template(k, lang) for k in COMPLAINT_QUESTIONS))
    answered_else = shows(
        seen,
        texts.template("conversation.out_of_scope", lang),
        *(texts.faq_answer(key, lang) for key in texts.faq),
    )
    return asked and not answered_else


def _status_right(case: Case, seen: Seen, seeded: Seeded) -> bool:
    shown = "\n".join(seen.texts)
    if case.expect == "list":
        return all(ticket.number in shown for ticket in seeded.own)
    if case.expect.startswith("describe:"):
        category = case.expect.removeprefix("describe:")
        named = [ticket for ticket in seeded.own if ticket.category == category]
        rest = [ticket for ticket in seeded.own if ticket.category != category]
        return (
            bool(named)
            and all(ticket.number in shown for ticket in named)
            and not any(ticket.number in shown for ticket in rest)
        )
    if case.expect == "own_number":
        own = seeded.own[0]
        return any(own.number in text and own.status in text for text in seen.texts)
    if case.expect == "other_number":
        other = seeded.other
        refused = t("tickets_lookup.not_yours", case.language, number=other.number)
        return shows(seen, _literal(refused)) and other.label not in shown
    raise ValueError(f"unknown status expectation {case.expect!r}")


def own_categories(expect: str) -> list[str]:
    """The described category first (the one `{own}` names), then a different one."""
    first = expect.removeprefix("describe:") if expect.startswith("describe:") else None
    first = first or STATUS_CATEGORIES[0]
    companion = next(code for code in STATUS_CATEGORIES if code != first)
    return [first, companion]


def _ticket(
    session: Session, profile: Profile, citizen_id: int, code: str, lang: str
) -> SeedTicket:
    label = profile.categories[code].label(lang)
    # Left for triage (no agency): nothing is queued for agencies or the notifier.
    decision = RoutingDecision(category=code, agency=None, district=None, confidence=1.0)
    ticket = create_ticket(
        session=session,
        citizen_id=citizen_id,
        description=label,
        language=lang,
        decision=decision,
        ticket_prefix=profile.ticket_prefix,
        timezone=profile.timezone,
        due_at=None,
    )
    return SeedTicket(str(ticket.number), code, label, t(f"status.{ticket.status}", lang))


def seed_status(database_url: str, profile: Profile, session_id: str, case: Case) -> Seeded:
    """The web session's citizen, made before their first message, with two tickets of
    their own; and another citizen's ticket."""
    lang = case.language
    with session_scope(database_url) as session:
        citizen = get_or_create_citizen(
            session=session, channel="web", address=session_id, language=lang
        )
        stranger = get_or_create_citizen(
            session=session, channel="web", address=f"bench-other-{session_id}", language=lang
        )
        session.flush()
        own = [_ticket(session, profile, citizen.id, c, lang) for c in own_categories(case.expect)]
        other = _ticket(session, profile, stranger.id, OTHER_CATEGORY, lang)
    return Seeded(own, other)


def observe(database_url: str, session_id: str, texts: list[str], seeded: int) -> Seen:
    """What the turn stored for the web session's citizen (`seeded` tickets were theirs)."""
    with session_factory(database_url)() as session:
        citizen_id = session.scalar(
            select(ChannelAddress.citizen_id).where(
                ChannelAddress.channel == "web", ChannelAddress.address == session_id
            )
        )
        if citizen_id is None:
            return Seen(texts)
        rows = session.execute(
            select(Feedback.kind, Feedback.agency).where(Feedback.citizen_id == citizen_id)
        ).all()  # read while the session is open
        tickets = session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.citizen_id == citizen_id)
        )
        handoffs = session.scalar(
            select(func.count()).select_from(Handoff).where(Handoff.citizen_id == citizen_id)
        )
    feedback = [(str(kind), agency) for kind, agency in rows]
    return Seen(texts, feedback, int(tickets or 0) - seeded, bool(handoffs))


def load_set(path: Path) -> list[Case]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows or rows[0] != HEADER:
        raise SystemExit(f"{path}: the first line must be {' / '.join(HEADER)}")
    cases = []
    for number, row in enumerate(rows[1:], 2):
        if not any(row):
            continue
        if len(row) != len(HEADER):
            raise SystemExit(f"{path}:{number}: {len(row)} fields, not {len(HEADER)}")
        cases.append(Case(*row))
    return cases


@dataclass(frozen=True)
class Result:
    case: Case
    sent: str
    seen: Seen
    right: bool


async def run_case(
    client: httpx.AsyncClient, database_url: str, profile: Profile, texts: Texts, case: Case
) -> Result:
    opened = await client.post("/api/chat/session", json={})
    opened.raise_for_status()
    token = str(opened.json()["token"])
    session_id = token.split(".")[1]  # ws1.<session id>.…: the web chat's address
    seeded, sent = None, case.message
    if case.klass == "status":
        seeded = await asyncio.to_thread(seed_status, database_url, profile, session_id, case)
        sent = sent.replace("{own}", seeded.own[0].number)
        sent = sent.replace("{other}", seeded.other.number)
    response = await client.post(
        "/api/chat", json={"token": token, "text": sent, "language": case.language}
    )
    try:
        messages = response.json().get("messages") or []
    except ValueError:
        messages = []
    shown = [str(m["text"]) for m in messages if m.get("text")]
    if response.status_code != 200:
        shown.insert(0, f"(HTTP {response.status_code})")
    owned = len(seeded.own) if seeded else 0
    seen = await asyncio.to_thread(observe, database_url, session_id, shown, owned)
    return Result(case, sent, seen, judge(case, seen, texts, seeded))


async def run_all(
    url: str, database_url: str, profile: Profile, cases: list[Case], concurrency: int
) -> list[Result]:
    texts = Texts(load_site(profile.path))
    semaphore = asyncio.Semaphore(concurrency)
    done = 0
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:

        async def one(case: Case) -> Result:
            nonlocal done
            async with semaphore:
                result = await run_case(client, database_url, profile, texts, case)
                done += 1
                progress("conversation", done, len(cases))
                return result

        return list(await asyncio.gather(*(one(case) for case in cases)))


def table(results: list[Result]) -> str:
    """Right/total and % per class (rows, in the set's order) and language (columns)."""
    langs = list(dict.fromkeys(r.case.language for r in results))
    classes = list(dict.fromkeys(r.case.klass for r in results))

    def cell(chosen: list[Result]) -> str:
        right = sum(r.right for r in chosen)
        share = f"{100 * right / len(chosen):.0f}%" if chosen else "–"
        return f"{right}/{len(chosen)} ({share})"

    lines = ["| class | " + " | ".join(langs) + " |", "|---" * (len(langs) + 1) + "|"]
    for klass in classes:
        cells = [
            cell([r for r in results if r.case.klass == klass and r.case.language == lang])
            for lang in langs
        ]
        lines.append(f"| {klass} | " + " | ".join(cells) + " |")
    overall = [cell([r for r in results if r.case.language == lang]) for lang in langs]
    lines.append("| **all** | " + " | ".join(overall) + " |")
    return "\n".join(lines)


def write_misses(results: list[Result], path: Path) -> int:
    misses = [r for r in results if not r.right]
    with path.open("w", encoding="utf-8") as fh:
        fh.write("language\tclass\texpect\tmessage\tshown\n")
        for r in misses:
            shown = " | ".join(r.seen.texts) or "(nothing)"
            shown = " ".join(shown.split())[:80]
            fh.write(f"{r.case.language}\t{r.case.klass}\t{r.case.expect}\t{r.sent}\t{shown}\n")
    return len(misses)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=sorted(SETS), default="heldout")
    parser.add_argument("--misses", type=Path, default=None)
    parser.add_argument("--url", help="a running web app (its limits off) instead of one started")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--profile", default=os.environ.get("CIVIC_PROFILE", "hangzhou"))
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    cases = load_set(SETS[args.set])
    profile = get_profile(ROOT / "profiles", args.profile)
    if args.url:
        if not args.database_url:
            parser.error("--url needs --database-url (or DATABASE_URL): the app's database")
        results = asyncio.run(
            run_all(args.url, args.database_url, profile, cases, args.concurrency)
        )
    else:
        with (
            tempfile.TemporaryDirectory() as var_dir,
            running_stack(Path(var_dir), LIMITS_OFF) as stack,
        ):
            results = asyncio.run(
                run_all(stack.url, stack.database_url, profile, cases, args.concurrency)
            )
    if args.misses is None:
        handle, name = tempfile.mkstemp(prefix="conversation-misses-", suffix=".tsv")
        os.close(handle)
    misses_path = args.misses or Path(name)
    missed = write_misses(results, misses_path)
    print(f"\n{args.set} set, {len(results)} messages, each from a fresh web-chat session:\n")
    print(table(results))
    print(f"\n{missed} misses: {misses_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
