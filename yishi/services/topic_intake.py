"""What residents do with topics: raise one (through the community's intake link, their personal link, or a grid
worker / party member at the console), find similar ones first, support one, comment, give feedback.

Raising: the form is checked (every problem at once, each naming its field), photos by their bytes
(domain/photos.py) and kept in ``blobs``, the phone number in ``topic_contacts`` (the stream gets its keyed hash
only), ``TopicRaised`` is appended under the workflow's first key (so the tracking link can be recorded right after
it), the workflow is started, and the proposer gets a tracking link. Supports, comments and feedback are appended to
the topic's stream here, decided by the domain on the stream as it is (many residents at once must not queue on one
workflow); feedback that reopens or closes the topic signals its workflow to read the stream again.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

import asyncpg
from pydantic import BaseModel, ConfigDict
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.eventstore import EventStore, NewEvent, StoredEvent
from activities.topics import apply_command, load_topic, project_topic
from domain import topic_commands as cmd
from domain.errors import N_, Text
from domain.photos import PhotoError, check_photos
from domain.similarity import Candidate, similar_topics
from domain.topic_commands import MAX_DESCRIPTION, MAX_TITLE, TopicError
from domain.topic_events import Actor, PhotoRef, Raiser, RaiserKind, Source, TopicRaised
from domain.topic_state import OPEN, Topic
from workflows.topic import FIRST_KEY
from workflows.topic_inputs import TopicInput, TopicResult
from yishi.services.capabilities import Capability, issue_capability
from yishi.services.complaints import ComplaintError, Problem
from yishi.services.topics import TopicRefusedError
from yishi.settings import Settings

MAX_PLACE = 40
_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{9,11})$")
SIMILAR_STATUSES = tuple(sorted(OPEN - {"resolved"}))


class TopicFormError(ComplaintError):
    """The topic cannot be raised as written; ``problems`` names every field to correct and what to do."""


class TopicForm(BaseModel):
    """What the resident writes (checked by :func:`check_form`)."""

    model_config = ConfigDict(frozen=True)
    community: str
    title: str
    description: str
    building: str | None = None
    room: str | None = None
    phone: str | None = None


class Proposer(BaseModel):
    """Who raises it: through which door (``source``), in what capacity, and their opaque id when known
    (``owner:O311`` from a personal link, ``client:<id>`` from the intake page's cookie, ``account:<name>``)."""

    model_config = ConfigDict(frozen=True)
    source: Source
    kind: RaiserKind
    person: str | None = None
    account: str | None = None


@dataclass(frozen=True)
class RaisedTopic:
    topic_id: str
    tracking: Capability


def normalise_phone(raw: str) -> str:
    digits = re.sub(r"[\s\-()（）]", "", raw)
    return digits.removeprefix("+86").removeprefix("0086")


def check_form(form: TopicForm) -> list[Problem]:
    problems = []
    for name, value, limit, what in (("title", form.title, MAX_TITLE, N_("the title")),
                                     ("description", form.description, MAX_DESCRIPTION, N_("the description"))):
        if not value.strip():
            problems.append(Problem(name, Text(N_("%(what)s is empty; fill it in"), what=Text(what))))
        elif len(value.strip()) > limit:
            problems.append(Problem(name, Text(N_("%(what)s has %(length)s characters, at most %(limit)s; shorten it"),
                                               what=Text(what), length=len(value.strip()), limit=limit)))
    for name, value, what in (("building", form.building, N_("the building")), ("room", form.room, N_("the room"))):
        if value and len(value.strip()) > MAX_PLACE:
            problems.append(Problem(name, Text(N_("%(what)s has %(length)s characters, at most %(limit)s; shorten it"),
                                               what=Text(what), length=len(value.strip()), limit=MAX_PLACE)))
    if form.phone and form.phone.strip() and not _PHONE.match(normalise_phone(form.phone)):
        problems.append(Problem("phone", Text(N_("a mobile number has 11 digits (e.g. 13812345678), a landline its "
                                                 "area code; or leave it empty"))))
    return problems


def checked(form: TopicForm, photos: Sequence[tuple[str, bytes]], settings: Settings) -> tuple[PhotoRef, ...]:
    """The photos' references, or :class:`TopicFormError` with every problem of the form (no I/O: run it before
    anything is counted or stored)."""
    problems = check_form(form)
    refs: tuple[PhotoRef, ...] = ()
    try:
        refs = check_photos(photos, max_bytes=settings.topic_photo_max_bytes,
                            max_count=settings.topic_photo_max_count)
    except PhotoError as exc:
        problems.append(Problem("photos", exc.text))
    if problems:
        raise TopicFormError(problems)
    return refs


def contact_hash(secret_key: str, phone: str) -> str:
    """The keyed hash of a phone number: the same number gives the same id, the id does not give the number."""
    mac = hmac.new(secret_key.encode(), b"yishi-phone/1\x00" + normalise_phone(phone).encode(), hashlib.sha256)
    return f"hmac-sha256:{mac.hexdigest()}"


def person_of_phone(contact: str) -> str:
    return "phone:" + contact.removeprefix("hmac-sha256:")[:24]


def new_topic_id() -> str:
    return f"topic-{secrets.token_hex(6)}"


async def store_photos(pool: asyncpg.Pool, refs: Sequence[PhotoRef], files: Sequence[tuple[str, bytes]]) -> None:
    by_hash = {hashlib.sha256(data).hexdigest(): data for _, data in files}
    async with pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO blobs (sha256, media_type, bytes, width, height, data) VALUES ($1,$2,$3,$4,$5,$6)"
            " ON CONFLICT (sha256) DO NOTHING",
            [(r.sha256, r.media_type, r.bytes, r.width, r.height, by_hash[r.sha256]) for r in refs])


async def _keep_contact(pool: asyncpg.Pool, topic_id: str, person: str, phone: str, contact: str,
                        now: datetime) -> None:
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO topic_contacts (topic_id, person, phone, contact_hash, given_at)"
                           " VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING", topic_id, person,
                           normalise_phone(phone), contact, now)


async def raise_topic(client: Client, pool: asyncpg.Pool, form: TopicForm, proposer: Proposer,
                      photos: Sequence[tuple[str, bytes]] = (), *, settings: Settings, now: datetime,
                      topic_id: str | None = None) -> RaisedTopic:
    """Check, record and start the topic; returns its id and the proposer's tracking link.

    The same ``topic_id`` again (a form sent twice) raises nothing new and returns the same link."""
    refs = checked(form, photos, settings)
    secret = settings.secret_key.get_secret_value()
    topic_id = topic_id or new_topic_id()
    contact = contact_hash(secret, form.phone) if form.phone and form.phone.strip() else None
    person = proposer.person or (person_of_phone(contact) if contact else f"r-{secrets.token_hex(8)}")
    raised = TopicRaised(at=now, topic_id=topic_id, community=form.community, title=form.title.strip(),
                         description=form.description.strip(), building=(form.building or "").strip() or None,
                         room=(form.room or "").strip() or None, source=proposer.source,
                         raised_by=Raiser(id=person, kind=proposer.kind, account=proposer.account, contact=contact),
                         photos=refs)
    await store_photos(pool, refs, photos)
    store = EventStore(pool)
    stored = await store.append(topic_id, [NewEvent(type=raised.type, payload=raised.model_dump(mode="json"),
                                                    occurred_at=raised.at)], idempotency_key=FIRST_KEY)
    first = TopicRaised.model_validate({k: v for k, v in stored[0].payload.items() if k != "type"})
    if contact and form.phone:
        await _keep_contact(pool, topic_id, first.raised_by.id, form.phone, contact, now)
    try:
        await client.start_workflow(
            "Topic", TopicInput(topic_id=topic_id, raised=first, take_up=settings.topic_take_up,
                                feedback=settings.topic_feedback), id=topic_id, task_queue=settings.task_queue,
            result_type=TopicResult)
    except WorkflowAlreadyStartedError:
        pass
    await project_topic(store, pool, topic_id)
    tracking = await issue_capability(pool, store, kind="tracking", subject=topic_id, holder=first.raised_by.id,
                                      community=first.community, issued_by=proposer.account or first.raised_by.id,
                                      secret_key=secret, now=now)
    return RaisedTopic(topic_id, tracking)


async def find_similar(pool: asyncpg.Pool, community: str, title: str, description: str = "",
                       building: str | None = None) -> list[tuple[Candidate, Fraction]]:
    """Open topics of the community that read like this one ("already raised: join it"), most alike first."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT topic_id, community, title, description, building FROM topics WHERE community = $1"
            " AND status = ANY($2::text[]) ORDER BY raised_at DESC LIMIT 1000", community, list(SIMILAR_STATUSES))
    return similar_topics(community, title, description, building, (Candidate(**dict(r)) for r in rows))


async def _append(pool: asyncpg.Pool, topic_id: str, command: cmd.TopicCommand,
                  key: str) -> tuple[Topic, list[StoredEvent]]:
    store = EventStore(pool)
    try:
        topic, written = await apply_command(store, topic_id, command, key)
    except TopicError as exc:
        raise TopicRefusedError(exc.text) from None
    if written:
        await project_topic(store, pool, topic_id)
    return topic, written


async def _open_target(pool: asyncpg.Pool, topic_id: str) -> str:
    """The topic a resident's act lands on: a merged topic's acts go to the topic it was merged into."""
    store = EventStore(pool)
    for _ in range(5):
        topic, _, _ = await load_topic(store, topic_id)
        if not topic.topic_id:
            raise TopicRefusedError(N_("no topic %(topic)s; check the topic id"), topic=topic_id)
        if topic.merged_into is None:
            return topic_id
        topic_id = topic.merged_into
    return topic_id


async def support_topic(pool: asyncpg.Pool, topic_id: str, *, supporter: str, kind: RaiserKind, secret_key: str,
                        now: datetime) -> tuple[str, Capability]:
    """Join a topic (one support per person); returns the topic supported and the supporter's link."""
    target = await _open_target(pool, topic_id)
    topic, _ = await _append(pool, target, cmd.Support(at=now, supporter=supporter, supporter_kind=kind),
                             f"support:{supporter}")
    link = await issue_capability(pool, EventStore(pool), kind="tracking" if supporter == topic.proposer_id
                                  else "supporter", subject=target, holder=supporter, community=topic.community,
                                  issued_by=supporter, secret_key=secret_key, now=now)
    return target, link


async def post_comment(pool: asyncpg.Pool, topic_id: str, *, author: str, author_kind: str, text: str,
                       now: datetime, comment_id: str | None = None) -> str:
    comment_id = comment_id or f"c-{secrets.token_hex(6)}"
    await _append(pool, topic_id, cmd.Comment(at=now, comment_id=comment_id, author=author, author_kind=author_kind,
                                              text=text), f"comment:{comment_id}")
    return comment_id


async def hide_comment(pool: asyncpg.Pool, topic_id: str, comment_id: str, *, reason: str, by: Actor,
                       now: datetime) -> None:
    await _append(pool, topic_id, cmd.HideComment(at=now, comment_id=comment_id, reason=reason, by=by),
                  f"hide:{comment_id}")


async def give_feedback(client: Client, pool: asyncpg.Pool, topic_id: str, *, respondent: str, answer: str,
                        comment: str = "", now: datetime) -> Topic:
    """满意 / 基本满意 / 不满意 and a comment: the proposer's 不满意 reopens the topic once; the last answer of
    the round closes it."""
    target = await _open_target(pool, topic_id)
    current, _, _ = await load_topic(EventStore(pool), target)
    topic, written = await _append(pool, target, cmd.GiveFeedback(at=now, respondent=respondent, answer=answer,
                                                                   comment=comment),
                                   f"feedback:{current.feedback_round}:{respondent}")
    if any(e.type in ("TopicReopened", "TopicClosed") for e in written):
        await client.get_workflow_handle(target).signal("refresh")
    return topic
