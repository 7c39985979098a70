"""The doors through which people without accounts raise and follow topics (the pages come later; these are what
they call): the community's intake QR link, an owner's personal voting link, the tracking and supporter links.

Through the intake link a submission is first admitted by the throttle (yishi/services/intake_limit.py: wait, or a
short proof of effort, never an error), then raised as a resident's topic of the link's community (and building).
An owner raises one from their personal link: the link names the owner and the deliberation, whose community the
topic belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from temporalio.client import Client

from activities.eventstore import EventStore
from activities.topics import load_topic
from domain.errors import N_
from domain.topic_events import RaiserKind
from domain.topic_state import Topic
from yishi.services.capabilities import (
    Capability,
    CapabilityHolder,
    intake_subject,
    issue_capability,
    reissue_capability,
    resolve_capability,
)
from yishi.services.intake_limit import Admission, admit
from yishi.services.links import LinkHolder
from yishi.services.topic_intake import (
    Proposer,
    RaisedTopic,
    TopicForm,
    checked,
    contact_hash,
    give_feedback,
    person_of_phone,
    raise_topic,
    support_topic,
)
from yishi.services.topics import TopicRefusedError
from yishi.settings import Settings

ALL_BUILDINGS = "*"


async def intake_link(pool: asyncpg.Pool, store: EventStore, community: str, building: str | None, *, by: str,
                      secret_key: str, now: datetime, reissue: bool = False) -> Capability:
    """The community's intake link (one per community, and one per building if wanted) for the A4 poster."""
    holder = (building or "").strip() or ALL_BUILDINGS
    if reissue:
        return await reissue_capability(pool, store, kind="intake", subject=intake_subject(community), holder=holder,
                                        community=community, by=by, secret_key=secret_key, now=now,
                                        reason="poster replaced")
    return await issue_capability(pool, store, kind="intake", subject=intake_subject(community), holder=holder,
                                  community=community, issued_by=by, secret_key=secret_key, now=now)


@dataclass(frozen=True)
class IntakeAnswer:
    """Either the topic raised, or what the throttle asks (wait, or a proof of effort)."""

    raised: RaisedTopic | None
    admission: Admission


async def raise_through_intake(client: Client, pool: asyncpg.Pool, token: str, *, title: str, description: str,
                               kind: RaiserKind = "resident", building: str | None = None, room: str | None = None,
                               phone: str | None = None, photos: Sequence[tuple[str, bytes]] = (), address: str,
                               device: str | None, proof: tuple[str, str] | None = None, settings: Settings,
                               now: datetime, topic_id: str | None = None) -> IntakeAnswer:
    """A resident's topic through the community's QR link. The link decides the community (and the building of a
    building's poster). The form is checked first (no I/O: a mistyped form does not use up the resident's
    budget), then the throttle is asked, before anything is stored."""
    link: CapabilityHolder = await resolve_capability(pool, token, frozenset(("intake",)))
    place = building if building else (None if link.holder == ALL_BUILDINGS else link.holder)
    form = TopicForm(community=link.community, title=title, description=description, building=place, room=room,
                     phone=phone)
    checked(form, photos, settings)
    admission = await admit(pool, link=link.token_hash[:16], address=address, device=device, settings=settings,
                            now=now, proof=proof)
    if not admission.ok:
        return IntakeAnswer(None, admission)
    who = Proposer(source="intake", kind=kind if kind in ("resident", "owner", "tenant") else "resident",
                   person=f"client:{device}" if device and not phone else None)
    raised = await raise_topic(client, pool, form, who, photos, settings=settings, now=now, topic_id=topic_id)
    return IntakeAnswer(raised, admission)


FOLLOWERS = frozenset(("tracking", "supporter"))


async def follower(pool: asyncpg.Pool, token: str) -> CapabilityHolder:
    """Whose tracking or supporter link ``token`` is (the topic is its ``subject``, the person its ``holder``)."""
    return await resolve_capability(pool, token, FOLLOWERS)


async def feedback_with_link(client: Client, pool: asyncpg.Pool, token: str, *, answer: str, comment: str = "",
                             now: datetime) -> Topic:
    """满意 / 基本满意 / 不满意 through the proposer's tracking link or a supporter's link."""
    holder = await follower(pool, token)
    return await give_feedback(client, pool, holder.subject, respondent=holder.holder, answer=answer,
                               comment=comment, now=now)


async def support_with_intake(pool: asyncpg.Pool, token: str, topic_id: str, *, device: str | None,
                              phone: str | None, secret_key: str, now: datetime) -> tuple[str, Capability]:
    """"Already raised: join it" from the intake page: support ``topic_id`` of the link's community; the supporter is
    the phone's keyed hash when one is given, else the page's device id. Returns the topic and the supporter's link."""
    link = await resolve_capability(pool, token, frozenset(("intake",)))
    topic, _, _ = await load_topic(EventStore(pool), topic_id)
    if topic.community != link.community:
        raise TopicRefusedError(N_("this topic belongs to another community"))
    if phone and phone.strip():
        supporter = person_of_phone(contact_hash(secret_key, phone))
    elif device:
        supporter = f"client:{device[:64]}"
    else:
        raise TopicRefusedError(N_("leave a phone number, or use the same phone, so that a support counts once"))
    return await support_topic(pool, topic_id, supporter=supporter, kind="resident", secret_key=secret_key, now=now)


async def deliberation_community(pool: asyncpg.Pool, deliberation_id: str) -> str:
    async with pool.acquire() as conn:
        community = await conn.fetchval("SELECT community FROM deliberations WHERE id = $1", deliberation_id)
    return community or "default"


async def raise_from_owner_link(client: Client, pool: asyncpg.Pool, holder: LinkHolder, *, title: str,
                                description: str, building: str | None = None, room: str | None = None,
                                photos: Sequence[tuple[str, bytes]] = (), settings: Settings, now: datetime,
                                topic_id: str | None = None) -> RaisedTopic:
    """An owner raises a topic from their personal voting link (the page resolved the token to ``holder``): the
    topic is the owner's (``owner:<id>``) in the community of the link's deliberation."""
    community = await deliberation_community(pool, holder.deliberation_id)
    form = TopicForm(community=community, title=title, description=description, building=building, room=room)
    who = Proposer(source="owner_link", kind="owner", person=f"owner:{holder.owner_id}")
    return await raise_topic(client, pool, form, who, photos, settings=settings, now=now, topic_id=topic_id)


async def support_from_owner_link(pool: asyncpg.Pool, holder: LinkHolder, topic_id: str, *, secret_key: str,
                                  now: datetime) -> tuple[str, Capability]:
    """"Already raised: join it" from an owner's personal link: the owner (``owner:<id>``) supports ``topic_id`` of
    the community of the link's deliberation; another community's topic (or none) is refused."""
    community = await deliberation_community(pool, holder.deliberation_id)
    topic, _, _ = await load_topic(EventStore(pool), topic_id)
    if not topic.topic_id or topic.community != community:
        raise TopicRefusedError(N_("this topic belongs to another community"))
    return await support_topic(pool, topic_id, supporter=f"owner:{holder.owner_id}", kind="owner",
                               secret_key=secret_key, now=now)
