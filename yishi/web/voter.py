"""The resident behind a link: rate limits, link resolution, the folded box, and the ballot page's model."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import Request, Response

from activities.db import UNAVAILABLE_ERRORS
from activities.eventstore import StoreUnavailableError
from domain.link_events import LinkAct
from domain.roll import RoomEntry
from yishi import i18n
from yishi.i18n import N_
from yishi.services.links import LinkError, LinkHolder, RevokedLinkError, resolve_link
from yishi.services.voting import Box, NoSuchBoxError, deliberation_info, load_box
from yishi.web.ballot_facts import Facts, ballot_facts
from yishi.web.ballot_status import ballot_status, proxy_status
from yishi.web.my_ballots import MyBallot, my_ballots
from yishi.web.render import link_invalid_page, link_revoked_page, message_page, page_lang, page_translator
from yishi.web.room_forms import find_room
from yishi.web.security import client_address, form_csrf, new_nonce

UNAVAILABLE = (*UNAVAILABLE_ERRORS, StoreUnavailableError)


def clock(request: Request) -> datetime:
    # The State's own dict: hasattr raised and caught an AttributeError on every request without a clock.
    clock_ = request.app.state._state.get("clock")
    return clock_() if clock_ is not None else datetime.now(UTC)


@dataclass
class Voter:
    holder: LinkHolder
    box: Box
    info: dict[str, Any] | None
    now: datetime

    @property
    def owner_id(self) -> str:
        return self.holder.owner_id

    def proxies(self) -> Any:
        return self.box.state.tally(self.question_id).proxies

    @property
    def question_id(self) -> str:
        return self.box.opened.questions[0].id

    def room_of(self, text: str) -> RoomEntry | None:
        """The roll's room written as ``text``: ``3-2-501``, ``501`` (her own entrance first), ``3栋2单元501``
        (yishi/web/room_forms.py; full-width digits and case forgiven)."""
        own = next(iter(self.box.rooms_of(self.owner_id)), None)
        return find_room(text, self.box.opened.roll, near=own)


def rooms_label(box: Box, owner_id: str) -> str:
    return "、".join(r.room_id for r in box.rooms_of(owner_id)) or owner_id


def too_many(request: Request, retry_after: float = 60) -> Response:
    response = message_page(request, 429, N_("Too many requests"), N_("Please wait a minute and try again."))
    response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response


def unavailable(request: Request) -> Response:
    # A commit whose answer was lost may have been recorded: say only what is known, and that trying again is safe.
    response = message_page(request, 503, N_("Service busy"), N_(
        "The system could not confirm your ballot, so no receipt was given; it may not have been recorded. Please try "
        "again shortly: submitting again never counts twice."))
    response.headers["Retry-After"] = "5"
    return response


async def load_holder(request: Request, token: str, *, cached: bool = False) -> LinkHolder | Response:
    """Who holds ``token`` (rate-limited per token), or the page to answer with.

    The link is looked up before any limit of the address: a valid link is served however many unknown ones
    the same address (a carrier NAT, the reverse proxy) sent before; only the misses count against it
    (:meth:`RateLimits.missed`). ``cached=True`` only for acts whose recording checks the revocation again (a
    ballot: ``cast_ballot(link=)``).
    """
    state = request.app.state
    try:
        holder = await resolve_link(state.pool, token, cached=cached)
    except LinkError as exc:
        if state.limits.missed(client_address(request)):
            return too_many(request)
        if isinstance(exc, RevokedLinkError):
            return link_revoked_page(request, exc.status)
        return link_invalid_page(request, exc.status)
    except UNAVAILABLE:
        return unavailable(request)
    if not state.limits.per_token.hit(holder.token_hash):
        return too_many(request)
    return holder


async def load_voter(request: Request, token: str, *, fresh: bool = True) -> Voter | Response:
    """The voter behind ``token``, or the page to answer with (403, 410, 429, 503).

    ``fresh=False`` (a ballot being posted): the box as this process has it, without reading what others
    appended since, and the link as this process found it live; the ballot is decided again under the
    stream lock, where the link's revocation is checked too.
    """
    holder = await load_holder(request, token, cached=not fresh)
    if isinstance(holder, Response):
        return holder
    state = request.app.state
    try:
        info = await deliberation_info(state.pool, holder.deliberation_id)
        box = await load_box(state.store, holder.deliberation_id, follow_rounds=True, fresh=fresh)
    except NoSuchBoxError:
        return _not_open_yet(request, info)
    except UNAVAILABLE:
        return unavailable(request)
    return Voter(holder, box, info, clock(request))


def _not_open_yet(request: Request, info: dict[str, Any] | None) -> Response:
    """A valid link whose ballot box the workflow has not opened yet (it does so at ``opens_at``)."""
    opens_at = (info or {}).get("opens_at")
    body = N_("Voting opens at %(when)s; open this link again then.") if opens_at else None
    return message_page(request, 200, N_("Voting has not started"), body, when=page_translator(request).when(opens_at),
                        subtitle=(info or {}).get("title"))


@dataclass
class FormKeys:
    nonce: str
    csrf: str


def form_keys(request: Request, voter: Voter, purpose: str) -> FormKeys:
    nonce = new_nonce()
    secret = request.app.state.secret_key
    return FormKeys(nonce, form_csrf(secret, purpose, voter.holder.token_hash, nonce))


@dataclass
class QuestionForm:
    """One question of the box with its own form (a box may ask several: dismiss, then each candidate)."""

    id: str
    text: str
    status: str | None
    final: bool  # voted on it online, and ballots cannot be changed
    form: FormKeys


@dataclass
class BallotPage:
    """What the ballot page shows."""

    title: str
    notice: str
    question: str
    rooms: list[RoomEntry]
    area: Any
    closes_at: datetime
    changeable: bool
    status: str | None
    forms: dict[str, FormKeys]
    proxy_limit: int
    proxy_rooms: str | None
    represented: list[tuple[str, str, list[QuestionForm]]] = field(default_factory=list)
    error: str | None = None
    final: bool = False  # voted on every question, and ballots cannot be changed: no form to show
    questions: list[QuestionForm] = field(default_factory=list)
    closes_fallback_years: tuple[int, ...] = ()
    link_trace: tuple[str, ...] = ()
    owner_prevails: bool = False
    facts: Facts | None = None
    mine: list[MyBallot] = field(default_factory=list)
    proxy_name: str = ""
    """The current proxy's name, masked (王*明), to confirm whom she chose."""
    proxy_error: str | None = None
    proxy_value: str = ""


TRACE_SHOWN = 5  # disclosures of a household listed on its pages, newest first; the rest are counted


def _who(tr: i18n.Translator, act: LinkAct) -> str:
    if act.via == "console":
        return tr.gettext("committee member %(by)s", by=act.by)
    if act.via == "cli":
        return tr.gettext("%(by)s (server command line)", by=act.by)
    return tr.gettext("the system (%(by)s)", by=act.by)


WHAT = {"csv": N_("downloaded the list of links (CSV)"), "sheets": N_("printed the notice sheets"),
        "sheet": N_("printed your household's sheet alone")}


def _what(tr: i18n.Translator, act: LinkAct) -> str:
    if act.format in WHAT:
        return tr.gettext(WHAT[act.format])
    return tr.gettext("showed the links (%(format)s)", format=act.format)


def link_trace(voter: Voter, lang: str) -> tuple[str, ...]:
    """What staff did to the holder's link, for their own pages (domain/link_events.py): the reissue that made the
    link they hold, then the prints and downloads that included their household, newest first."""
    tr = i18n.translator(lang)
    holder, ledger = voter.holder, voter.box.links
    lines = []
    made = ledger.issue_of(holder.owner_id, holder.generation)
    if made is not None and made.kind == "reissued":
        lines.append(tr.gettext(
            "Your voting link was reissued on %(when)s by %(who)s (version %(generation)s); earlier links no longer "
            "work. If you did not ask for it, contact the committee at once; you may ask for an audit.",
            when=tr.when(made.at), who=_who(tr, made), generation=holder.generation))
    shown = [a for a in ledger.acts_of.get(holder.owner_id, ()) if a.kind == "disclosed"]
    for act in reversed(shown[-TRACE_SHOWN:]):
        lines.append(tr.gettext("%(when)s: %(who)s %(what)s, including your link.", when=tr.when(act.at),
                                who=_who(tr, act), what=_what(tr, act)))
    if len(shown) > TRACE_SHOWN:
        lines.append(tr.gettext("%(count)s earlier entries are not shown.", count=len(shown) - TRACE_SHOWN))
    return tuple(lines)


def _localised(info: dict[str, Any] | None, key: str, lang: str, fallback: str) -> str:
    if not info:
        return fallback
    return (info.get(f"{key}_en") if lang == "en" else None) or info.get(f"{key}_zh") or fallback


def _question_forms(request: Request, voter: Voter, lang: str, info_text: str | None,
                    owner_id: str | None = None) -> list[QuestionForm]:
    questions = voter.box.opened.questions
    prevails = voter.box.opened.owner_prevails
    forms = []
    for question in questions:
        text = (question.text_en if lang == "en" else None) or question.text_zh
        if len(questions) == 1 and info_text:
            text = info_text  # the registry's wording of the single question
        tally = voter.box.state.tally(question.id)
        if owner_id is None:  # the owner's own form
            # Final ballots: an owner who voted on paper, or whose proxy voted (owner_prevails), may still vote
            # online: her own online ballot counts (RULES.md).
            voted = voter.box.last_ballot(voter.owner_id, question_id=question.id, channel="online",
                                          proxied=False if prevails else None) is not None
            final = voted and not voter.box.opened.ballots_changeable
            status = ballot_status(voter, lang, question.id)
        else:  # the proxy's form for the owner he represents
            counted = tally.counted_ballot(owner_id)
            own_counts = prevails and counted is not None and not counted[1]
            voted = counted is not None and counted[0] == "online"
            final = own_counts or (voted and not voter.box.opened.ballots_changeable)
            status = proxy_status(voter, lang, question.id, owner_id)
        forms.append(QuestionForm(question.id, text, status, final, form_keys(request, voter, "ballot")))
    return forms


def ballot_page(request: Request, voter: Voter, error: str | None = None) -> BallotPage:
    lang = page_lang(request)
    opened, info = voter.box.opened, voter.info
    question = opened.questions[0]
    question_text = (question.text_en if lang == "en" else None) or question.text_zh
    info_text = _localised(info, "question", lang, "") or None
    proxies = voter.proxies()
    proxy = proxies.active_proxy(voter.owner_id, voter.now)
    represented = [
        (owner, rooms_label(voter.box, owner), _question_forms(request, voter, lang, info_text, owner))
        for owner in proxies.represented_by(voter.owner_id, voter.now)
    ]
    questions = _question_forms(request, voter, lang, info_text)
    return BallotPage(
        title=(info or {}).get("title") or question_text,
        notice=_localised(info, "notice", lang, ""),
        question=questions[0].text,
        rooms=voter.box.rooms_of(voter.owner_id),
        area=voter.box.area_of(voter.owner_id),
        closes_at=opened.closes_at,
        changeable=opened.ballots_changeable,
        status=questions[0].status,
        forms={p: form_keys(request, voter, p) for p in ("ballot", "proxy", "proxy-revoke")},
        proxy_limit=opened.proxy_limit,
        proxy_rooms=rooms_label(voter.box, proxy) if proxy else None,
        represented=represented,
        error=error,
        final=all(q.final for q in questions),
        questions=questions,
        closes_fallback_years=opened.closes_fallback_years,
        link_trace=link_trace(voter, lang),
        owner_prevails=opened.owner_prevails,
        facts=ballot_facts(voter.box, info, voter.owner_id, lang, _localised(info, "notice", lang, "")),
        mine=my_ballots(voter.box, voter.owner_id, lang),
    )
