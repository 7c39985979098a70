"""A resident's complaint filed by a grid worker or committee member: checked here, then opened as an escalation
ticket through :func:`yishi.services.escalations.open_ticket` (the only way tickets start).

The console form and ``yishi escalate open`` both build a :class:`Complaint` and call :func:`file_complaint`.
Every problem of the form is reported at once (:class:`ComplaintError`), in Chinese and English, naming the
field (and the line of the attachment list) and what to do.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from pydantic import BaseModel, ConfigDict
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.routing import ladder_at
from domain.errors import N_, DomainError, Items, Label, Text
from domain.escalation import EvidenceRef, Ladder
from yishi.i18n import bilingual
from yishi.services.escalations import TicketRequest, keep_complainant, open_ticket

MAX_SUBJECT, MAX_DETAIL, MAX_RESIDENT, MAX_ATTACHMENTS = 200, 4000, 100, 20
ATTACHMENT_LINE = re.compile(r"^(?P<name>.*?)[\s,，]+(?P<sha256>[0-9a-fA-F]{64})$")


@dataclass(frozen=True)
class Problem:
    field: str
    text: Text


class ComplaintError(DomainError):
    """The complaint cannot be filed as written; ``problems`` lists every field to correct (one line each)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(problems[0].text)
        self.args = ("; ".join(f"{p.field}: {p.text}" for p in problems),)

    @property
    def texts(self) -> list[Text]:
        return [p.text for p in self.problems]


class Complaint(BaseModel):
    """What the person at the desk writes down, as typed (checked by :func:`check_complaint`)."""

    model_config = ConfigDict(frozen=True)
    community: str
    resident: str
    """Who complains: the owner id on the roll (their follow-up link goes to it) or a name and room."""
    category: str
    subject: str
    detail: str = ""
    deliberation_id: str | None = None
    start_level: str | None = None
    attachments: str = ""
    """One attachment per line: ``file name, sha256`` (the file stays where it is; the ticket keeps its hash)."""
    filed_by: str
    """The account that typed it in, written under the detail for the offices that handle it (with its role)."""
    filed_by_role: str | None = None
    building: str = ""
    """The building (楼栋) it is about: the ticket goes to that building's grid (activities/routing.py)."""
    entrance: str = ""
    room: str = ""
    """A room (房号): its building is found on the community's latest roll."""
    channel: str = "resident"
    """``resident`` (a resident's complaint), ``grid_report`` (a grid worker's own), ``secretary`` (书记直通车)."""


async def community_ladder(pool: asyncpg.Pool, community: str) -> Ladder:
    """The community's ladder as a ticket opened now would take it (activities/routing.py ``ladder_at``: the
    version current now, else one set before versions, else the default)."""
    async with pool.acquire() as conn:
        return (await ladder_at(conn, community, datetime.now(UTC))).ladder()


def parse_attachments(text: str) -> tuple[tuple[EvidenceRef, ...], list[Problem]]:
    """``name, sha256`` per line (a full-width comma, a tab or spaces also separate them); blank lines skipped."""
    refs: list[EvidenceRef] = []
    problems: list[Problem] = []
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if len(lines) > MAX_ATTACHMENTS:
        problems.append(Problem("attachments", Text(N_("at most %(most)s attachments"), most=MAX_ATTACHMENTS)))
    for number, line in lines[:MAX_ATTACHMENTS]:
        match = ATTACHMENT_LINE.match(line)
        if match is None or not match["name"].strip():
            problems.append(Problem(
                "attachments",
                Text(N_("attachment line %(number)s '%(line)s' must be 'file name, sha256' (64 hex digits, e.g. from "
                     "sha256sum)"), number=number, line=line[:60])))
            continue
        refs.append(EvidenceRef(kind="attachment", name=match["name"].strip()[:200], sha256=match["sha256"].lower()))
    return tuple(refs), problems


def check_complaint(complaint: Complaint, ladder: Ladder) -> TicketRequest:
    """The ticket request, or :class:`ComplaintError` naming every field to correct."""
    problems: list[Problem] = []
    for name, value, limit, label in (("resident", complaint.resident, MAX_RESIDENT, N_("the resident")),
                                      ("subject", complaint.subject, MAX_SUBJECT, N_("the subject"))):
        if not value.strip():
            problems.append(Problem(name, Text(N_("%(field)s is empty; fill it in"), field=Text(label))))
        elif len(value) > limit:
            problems.append(Problem(name, Text(N_("%(field)s has more than %(limit)s characters"), field=Text(label),
                                               limit=limit)))
    if len(complaint.detail) > MAX_DETAIL:
        problems.append(Problem("detail", Text(N_("detail has more than %(most)s characters"), most=MAX_DETAIL)))
    if complaint.category not in ladder.departments:
        valid = Items(Label("category", c) for c in ladder.departments)
        problems.append(Problem("category", Text(N_("choose a category (%(valid)s)"), valid=valid)))
    levels = [level.key for level in ladder.levels]
    if complaint.channel not in ("resident", "grid_report", "secretary"):
        problems.append(Problem("channel", Text(N_("the channel must be resident, grid_report or secretary"))))
    if complaint.start_level and complaint.start_level not in levels and complaint.channel != "secretary":
        problems.append(Problem("start_level", Text(N_("the first level must be one of %(levels)s"),
                                                    levels=Items(levels))))
    evidence, attachment_problems = parse_attachments(complaint.attachments)
    problems += attachment_problems
    if problems:
        raise ComplaintError(problems)
    detail = complaint.detail.strip()
    who: str | Text = complaint.filed_by
    if complaint.filed_by_role:
        who = Text(N_("%(role)s %(name)s"), role=Label("role", complaint.filed_by_role), name=complaint.filed_by)
    signature = "（{} / {}）".format(*bilingual(N_("filed for the resident by %(who)s"), who=who))
    return TicketRequest(community=complaint.community, category=complaint.category,
                         subject=complaint.subject.strip(), detail=f"{detail}\n\n{signature}" if detail else signature,
                         initiator=complaint.resident.strip(), initiator_kind="owner",
                         start_level=complaint.start_level or None, evidence=evidence, channel=complaint.channel,
                         building=complaint.building.strip()[:32], entrance=complaint.entrance.strip()[:16],
                         room=complaint.room.strip()[:32])


def ticket_id_for(*parts: str) -> str:
    """A ticket id derived from the form (session and nonce): the same form sent twice opens one ticket."""
    return "esc-" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:12]


async def file_complaint(client: Client, pool: asyncpg.Pool, complaint: Complaint, *, task_queue: str,
                         ticket_id: str, contact: dict[str, str] | None = None) -> str:
    """Check the complaint against its community's ladder and open the ticket; returns the ticket id.

    ``contact`` (name, room, phone as the desk took them down) is kept outside the stream once the complaint is
    valid, its digest in ``EscalationOpened`` (services/escalations.py ``keep_complainant``).
    Opening the same ``ticket_id`` again while its ticket runs is not an error: it is the same complaint."""
    request = check_complaint(complaint, await community_ladder(pool, complaint.community))
    if contact:
        digest = await keep_complainant(pool, ticket_id, contact)
        request = request.model_copy(update={"complainant_digest": digest})
    try:
        await open_ticket(client, request, task_queue=task_queue, ticket_id=ticket_id,
                          parent_id=complaint.deliberation_id or None)
    except WorkflowAlreadyStartedError:
        pass
    return ticket_id
