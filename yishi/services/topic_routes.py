"""Routing a topic: to the escalation ladder (吹哨: a ticket, the topic's child ``<topic>/esc-<n>``) or straight to a
procedure (elevator, property, consultation: a deliberation started as ``yishi start`` starts one).

The ladder's request is checked as a complaint is (yishi/services/complaints.py ``check_complaint``: the category
and the first level against the community's ladder), and the ticket is the same ``Escalation`` workflow every ticket
is. The committee answers the ticket's follow-up; the topic's proposer and supporters give their own feedback when
the ticket closes and the topic is resolved.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from temporalio.client import Client

from domain.errors import N_, Text
from domain.roll import Roll
from domain.topic_checks import status_label
from domain.topic_events import Actor
from workflows.escalation import EscalationInput
from workflows.topic_inputs import RouteInput, TopicReceipt
from yishi.services.complaints import Complaint, check_complaint, community_ladder
from yishi.services.procedures import StartRequest, start_procedure
from yishi.services.topics import TopicRefusedError, topic_state, update

ROUTABLE = ("raised", "taken", "decided", "following_up")


async def _routable(pool: asyncpg.Pool, topic_id: str) -> Any:
    topic = await topic_state(pool, topic_id)
    if topic.status not in ROUTABLE:
        raise TopicRefusedError(N_("topic %(topic)s is now '%(status)s': you cannot %(action)s"), topic=topic_id,
                                status=status_label(topic.status), action=Text(N_("route it")))
    return topic


async def route_to_ladder(client: Client, pool: asyncpg.Pool, topic_id: str, *, category: str, by: Actor,
                          start_level: str | None = None, note: str = "") -> tuple[str, TopicReceipt]:
    """Open the topic's escalation ticket (``<topic>/esc-<n>``) and record the route; returns the ticket id."""
    topic = await _routable(pool, topic_id)
    complaint = Complaint(community=topic.community, resident=f"committee:{topic.community}", category=category,
                          subject=topic.title, detail=topic.description, start_level=start_level,
                          filed_by=f"{by.name}（{by.kind}）")
    request = check_complaint(complaint, await community_ladder(pool, topic.community))  # ComplaintError: each problem
    ticket_id = f"{topic_id}/esc-{topic.routes + 1}"
    detail = f"{request.detail}\n\n议题 / topic {topic_id}" + (f"：{note.strip()}" if note.strip() else "")
    params = EscalationInput(ticket_id=ticket_id, parent_id=topic_id, community=topic.community, category=category,
                             subject=request.subject, detail=detail, initiator=f"committee:{topic.community}",
                             initiator_kind="committee", start_level=request.start_level)
    receipt = await update(client, topic_id, "route", RouteInput(by=by, target="ladder", stream=ticket_id,
                                                                 category=category, note=note, ticket=params),
                           update_id=f"route:{ticket_id}")
    return ticket_id, receipt


async def route_to_procedure(client: Client, pool: asyncpg.Pool, topic_id: str, roll: Roll, request: StartRequest,
                             *, by: Actor, task_queue: str, note: str = "",
                             **workflow_options: Any) -> tuple[str, TopicReceipt]:
    """Start the procedure (its deliberation) for the topic and record the route; returns the deliberation id."""
    topic = await _routable(pool, topic_id)
    if request.community != topic.community:
        request = request.model_copy(update={"community": topic.community})
    deliberation_id, _ = await start_procedure(client, pool, roll, request, task_queue=task_queue,
                                               **workflow_options)
    return deliberation_id, await record_procedure(client, topic_id, deliberation_id, by=by, note=note)


async def routable(pool: asyncpg.Pool, topic_id: str, community: str) -> Any:
    """The topic, if a procedure of ``community`` may be started for it now (else :class:`TopicRefusedError`)."""
    topic = await _routable(pool, topic_id)
    if topic.community != community:
        raise TopicRefusedError(N_("the topic belongs to community '%(community)s': start the procedure there"),
                                community=topic.community)
    return topic


async def record_procedure(client: Client, topic_id: str, deliberation_id: str, *, by: Actor,
                           note: str = "") -> TopicReceipt:
    """Record that the procedure ``deliberation_id`` (started already) is what the topic was sent to; idempotent."""
    return await update(client, topic_id, "route", RouteInput(by=by, target="procedure", stream=deliberation_id,
                                                              note=note), update_id=f"route:{deliberation_id}")


