"""The committee's topics: the list (missed take-up deadlines marked), a topic's page with its steps and the actions
(take it up, decline with a reason, route to the escalation ladder, merge a duplicate, hide a comment with a
reason), and the community's A4 intake poster with its QR code.

Every page and action keeps one wall, the topic's community (:func:`visible_topic`, the rule of the console's
lists: services/console.py ``may_see_community``): a topic of another community answers the 404 an unknown id
gets. Actions are POST forms with the session's CSRF field, sent to the topic's workflow as updates, whose domain
checks the actor again (domain/topic_checks.py ``by_staff``). Staff never see a resident's tracking link.
"""

from __future__ import annotations

import hashlib
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from activities.eventstore import EventStore
from domain.topic_commands import TopicError
from domain.topic_events import Actor
from domain.topic_state import Topic
from yishi.i18n import N_
from yishi.services.complaints import ComplaintError
from yishi.services.console import home_community, may_see_community
from yishi.services.links import local_base
from yishi.services.topic_intake import Proposer, TopicForm, TopicFormError, hide_comment, raise_topic
from yishi.services.topic_links import intake_link
from yishi.services.topic_routes import record_procedure, routable, route_to_ladder
from yishi.services.topics import TopicRefusedError, decline, list_topics, merge, resolve, take, topic_state
from yishi.web.middleware import own_styles_policy
from yishi.web.render import message_page, not_found_page, page_translator, render, workflow_busy
from yishi.web.sheets import address_warning, qr_data_uri
from yishi.web.staff import Staff, require, staff_form, staff_page
from yishi.web.temporal import TEMPORAL_UNAVAILABLE, temporal_client
from yishi.web.topic_steps import topic_steps
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
READ_ROLES = ("committee", "grid_worker", "street_office", "auditor")
ACT_ROLES = ("committee", "street_office")
POSTER_ROLES = ("committee",)
ACTIONS = ("take", "decline", "route", "merge", "hide", "resolve")
CATEGORIES = ("housing", "urban_management", "market_regulation", "planning")


def topic_path(topic_id: str) -> str:
    return f"/console/topics/{topic_id}"


def actor(staff: Staff, community: str) -> Actor:
    kind = staff.account.role if staff.account.role in ("committee", "grid_worker", "street_office") else "committee"
    return Actor(kind=kind, name=staff.account.name, account=staff.account.name, community=community)


async def visible_topic(request: Request, staff: Staff, topic_id: str) -> Topic | Response:
    """The topic if the account may see its community; else the 404 an unknown id gets (never a 403)."""
    try:
        topic = await topic_state(request.app.state.pool, topic_id[:64])
    except (TopicRefusedError, TopicError):  # an unknown id
        return not_found_page(request)
    except UNAVAILABLE:
        return unavailable(request)
    if not may_see_community(staff.account, topic.community):
        log.info("console.topic_hidden", topic_id=topic_id, account_id=staff.account.id)
        return not_found_page(request)
    return topic


@router.get("/console/topics")
async def topics_list(request: Request) -> Response:
    staff = await require(request, *READ_ROLES)
    if isinstance(staff, Response):
        return staff
    home = home_community(staff.account)
    try:
        rows = await list_topics(request.app.state.pool, community=home)
    except UNAVAILABLE:
        return unavailable(request)
    return staff_page(request, "console_topics.html", staff, rows=rows, now=clock(request), home=home,
                 poster_form=staff.form() if staff.account.can(*POSTER_ROLES) else None)


RAISE_ROLES = ("committee", "grid_worker")
RAISE_AS = ("grid_worker", "party_member")


def _new_page(request: Request, staff: Staff, status: int = 200, **context: Any) -> Response:
    return staff_page(request, "console_topic_new.html", staff, status, form=staff.form(),
                 home=home_community(staff.account), kinds=RAISE_AS, values=context.pop("values", {}), **context)


@router.get("/console/topics/new")
async def new_topic_form(request: Request) -> Response:
    staff = await require(request, *RAISE_ROLES)
    if isinstance(staff, Response):
        return staff
    return _new_page(request, staff, values={"kind": staff.account.role if staff.account.role in RAISE_AS
                                             else "party_member", "name": staff.account.name})


@router.post("/console/topics/new")
async def new_topic(request: Request) -> Response:
    """A grid worker or a party member raises a topic from the console (typed in by a committee or grid-worker
    account), recorded as such with the account that typed it; in the account's own community only."""
    posted = await staff_form(request, *RAISE_ROLES)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    values = {k: form.get(k, "")[:4000] for k in ("community", "title", "description", "building", "room", "phone",
                                                  "kind", "name")}
    community = home_community(staff.account) or values["community"].strip()[:80]
    kind = values["kind"] if values["kind"] in RAISE_AS else "grid_worker"
    name = values["name"].strip()[:40] or staff.account.name
    account = staff.account.name
    person = f"account:{account}" if kind == staff.account.role else f"{kind}:{name}"
    tr = page_translator(request)
    try:
        raised = await raise_topic(
            await temporal_client(request), request.app.state.pool,
            TopicForm(community=community, title=values["title"], description=values["description"],
                      building=values["building"] or None, room=values["room"] or None, phone=values["phone"] or None),
            Proposer(source="console", kind=kind, person=person, account=account), settings=request.app.state.settings,
            now=clock(request), topic_id=_console_topic_id(staff, form.get("nonce", "")))
    except TopicFormError as exc:
        return _new_page(request, staff, 422, values=values, problems=[tr.error(p.text) for p in exc.problems])
    except TEMPORAL_UNAVAILABLE:
        return workflow_busy(request)
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.topic_raised", topic_id=raised.topic_id, kind=kind, account_id=staff.account.id)
    return RedirectResponse(topic_path(raised.topic_id), status_code=303)


def _console_topic_id(staff: Staff, nonce: str) -> str:
    """The same form sent twice raises one topic."""
    return "topic-" + hashlib.sha256(f"console:{staff.session_id}:{nonce}".encode()).hexdigest()[:12]


async def procedure_topic(request: Request, staff: Staff, topic_id: str, community: str) -> Topic | str:
    """For the start form (yishi/web/console_start.py): the topic a procedure is started for, or why it cannot be."""
    tr = page_translator(request)
    topic = await visible_topic(request, staff, topic_id)
    if isinstance(topic, Response):
        return tr.error(TopicRefusedError(N_("no topic %(topic)s; check the topic id"), topic=topic_id[:64]))
    try:
        return await routable(request.app.state.pool, topic.topic_id, community)
    except TopicRefusedError as exc:
        return tr.error(exc)


async def record_procedure_route(request: Request, staff: Staff, topic: Topic, deliberation_id: str) -> None:
    """After the start: the topic follows the procedure (a refusal is logged: the procedure runs all the same)."""
    try:
        await record_procedure(await temporal_client(request), topic.topic_id, deliberation_id,
                               by=actor(staff, topic.community))
    except TopicRefusedError as exc:
        log.warning("console.topic_route_refused", topic_id=topic.topic_id, deliberation_id=deliberation_id,
                    reason=str(exc))


async def _contact(request: Request, topic_id: str) -> str | None:
    async with request.app.state.pool.acquire() as conn:
        return await conn.fetchval("SELECT phone FROM topic_contacts WHERE topic_id = $1 ORDER BY given_at LIMIT 1",
                                   topic_id)


async def _topic_page(request: Request, staff: Staff, topic: Topic, status: int = 200,
                      error: str | None = None) -> Response:
    pool = request.app.state.pool
    try:
        events = await EventStore(pool).read(topic.topic_id)
        others = [r for r in await list_topics(pool, community=topic.community)
                  if r["topic_id"] != topic.topic_id and r["status"] not in ("declined", "merged", "closed")]
        phone = await _contact(request, topic.topic_id) if staff.account.can(*ACT_ROLES) else None
    except UNAVAILABLE:
        return unavailable(request)
    return staff_page(request, "console_topic.html", staff, status, topic=topic, error=error, phone=phone,
                 steps=topic_steps(page_translator(request), events, staff=True), others=others[:50],
                 categories=CATEGORIES, can_act=staff.account.can(*ACT_ROLES),
                 forms={name: staff.form() for name in ACTIONS}, hide_forms={c.comment_id: staff.form()
                                                                             for c in topic.comments})


@router.get("/console/topics/{topic_id}")
async def topic_page(request: Request, topic_id: str) -> Response:
    staff = await require(request, *READ_ROLES)
    if isinstance(staff, Response):
        return staff
    topic = await visible_topic(request, staff, topic_id)
    if isinstance(topic, Response):
        return topic
    return await _topic_page(request, staff, topic)


@router.get("/console/topics/{topic_id}/photos/{index}")
async def topic_photo(request: Request, topic_id: str, index: int) -> Response:
    """One of the topic's photos, as kept (judged by its bytes when it was raised: JPEG, PNG or WebP only)."""
    staff = await require(request, *READ_ROLES)
    if isinstance(staff, Response):
        return staff
    topic = await visible_topic(request, staff, topic_id)
    if isinstance(topic, Response):
        return topic
    if not 0 <= index < len(topic.photos):
        return not_found_page(request)
    photo = topic.photos[index]
    try:
        async with request.app.state.pool.acquire() as conn:
            data = await conn.fetchval("SELECT data FROM blobs WHERE sha256 = $1", photo.sha256)
    except UNAVAILABLE:
        return unavailable(request)
    if data is None:
        return not_found_page(request)
    return Response(bytes(data), media_type=photo.media_type,
                    headers={"Cache-Control": "private, no-store", "Content-Disposition": "inline"})


async def _act(request: Request, staff: Staff, topic: Topic, form: dict[str, str]) -> None:
    """Run the posted action; a refusal raises TopicRefusedError (or ComplaintError for the ladder's request)."""
    client, pool, by = await temporal_client(request), request.app.state.pool, actor(staff, topic.community)
    action, text = form.get("action", ""), form.get("text", "").strip()[:2000]
    if action == "take":
        await take(client, topic.topic_id, by=by, note=text)
    elif action == "decline":
        if not text:
            raise TopicRefusedError(N_("write the reason the proposer will read, then decline"))
        await decline(client, topic.topic_id, by=by, reason=text)
    elif action == "route":
        await route_to_ladder(client, pool, topic.topic_id, category=form.get("category", "")[:40], by=by, note=text)
    elif action == "merge":
        into = form.get("into", "")[:64]
        target = await topic_state(pool, into) if into.startswith("topic-") else None
        if target is None or target.community != topic.community:
            raise TopicRefusedError(N_("no topic %(topic)s; check the topic id"), topic=into or "—")
        await merge(client, pool, topic.topic_id, into, by=by, note=text)
    elif action == "resolve":
        if not text:
            raise TopicRefusedError(N_("write what was done (the proposer and the supporters read it), then mark it "
                                       "done"))
        await resolve(client, topic.topic_id, by=by, resolution=text)
    elif action == "hide":
        if not text:
            raise TopicRefusedError(N_("write the reason for hiding the comment, then hide it"))
        await hide_comment(pool, topic.topic_id, form.get("comment_id", "")[:64], reason=text, by=by,
                           now=clock(request))
    else:
        raise TopicRefusedError(N_("unknown action %(action)s"), action=action[:40])


@router.post("/console/topics/{topic_id}/act")
async def topic_act(request: Request, topic_id: str) -> Response:
    posted = await staff_form(request, *ACT_ROLES)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    topic = await visible_topic(request, staff, topic_id)
    if isinstance(topic, Response):
        return topic
    tr = page_translator(request)
    try:
        await _act(request, staff, topic, form)
    except (TopicRefusedError, TopicError, ComplaintError) as exc:
        return await _topic_page(request, staff, topic, 409, error=tr.error(exc))
    except TEMPORAL_UNAVAILABLE:
        return workflow_busy(request)
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.topic_action", topic_id=topic.topic_id, action=form.get("action"), account_id=staff.account.id)
    return RedirectResponse(topic_path(topic.topic_id), status_code=303)


@router.post("/console/topics/poster")
async def poster(request: Request) -> Response:
    """The community's A4 intake poster (the link is issued on first print, recorded in the intake stream)."""
    posted = await staff_form(request, *POSTER_ROLES)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    community = home_community(staff.account) or form.get("community", "").strip()[:80]
    if not community:
        return message_page(request, 422, N_("Which community?"), N_(
            "Your account has no community: write the community's name on the form."), back_url="/console/topics")
    building = form.get("building", "").strip()[:40] or None
    state = request.app.state
    try:
        link = await intake_link(state.pool, state.store, community, building, by=staff.account.name,
                                 secret_key=state.secret_key, now=clock(request))
    except UNAVAILABLE:
        return unavailable(request)
    configured = bool(state.settings.public_base_url)
    base = state.settings.public_base_url or str(request.base_url)
    url = link.url(base)
    log.info("console.topic_poster", community=community, building=building, account_id=staff.account.id,
             local=local_base(base))
    response = render(request, "topic_poster.html", no_store=True, switch_path="/console/topics",
                      community=community, building=building, url=url, qr=qr_data_uri(url), base_url=base,
                      warning=address_warning(base, configured=configured))
    # One self-contained printable page, as the notice sheets: its own inline style allowed by its hash only.
    response.headers["Content-Security-Policy"] = own_styles_policy(response.body.decode())
    return response
