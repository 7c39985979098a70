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
from domain.escalation import EvidenceRef, Ladder
from yishi.services.escalations import TicketRequest, open_ticket

MAX_SUBJECT, MAX_DETAIL, MAX_RESIDENT, MAX_ATTACHMENTS = 200, 4000, 100, 20
ATTACHMENT_LINE = re.compile(r"^(?P<name>.*?)[\s,，]+(?P<sha256>[0-9a-fA-F]{64})$")


@dataclass(frozen=True)
class Problem:
    field: str
    zh: str
    en: str


class ComplaintError(ValueError):
    """The complaint cannot be filed as written; ``problems`` lists every field to correct."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.en}" for p in problems))

    def message(self, lang: str) -> str:
        return "\n".join(p.en if lang == "en" else p.zh for p in self.problems)


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
    """The account that typed it in (name and role), written under the detail for the offices that handle it."""
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
        problems.append(Problem("attachments", f"附件最多 {MAX_ATTACHMENTS} 个",
                                f"at most {MAX_ATTACHMENTS} attachments"))
    for number, line in lines[:MAX_ATTACHMENTS]:
        match = ATTACHMENT_LINE.match(line)
        if match is None or not match["name"].strip():
            problems.append(Problem(
                "attachments",
                f"附件第{number}行“{line[:60]}”应为“文件名, sha256”（sha256 为 64 位十六进制，可用 sha256sum 计算）",
                f"attachment line {number} '{line[:60]}' must be 'file name, sha256' (64 hex digits, "
                "e.g. from sha256sum)"))
            continue
        refs.append(EvidenceRef(kind="attachment", name=match["name"].strip()[:200], sha256=match["sha256"].lower()))
    return tuple(refs), problems


def check_complaint(complaint: Complaint, ladder: Ladder) -> TicketRequest:
    """The ticket request, or :class:`ComplaintError` naming every field to correct."""
    problems: list[Problem] = []
    for name, value, limit, zh in (("resident", complaint.resident, MAX_RESIDENT, "反映人"),
                                   ("subject", complaint.subject, MAX_SUBJECT, "事项")):
        if not value.strip():
            problems.append(Problem(name, f"请填写{zh}", f"{name} is empty; fill it in"))
        elif len(value) > limit:
            problems.append(Problem(name, f"{zh}最多 {limit} 字", f"{name} has more than {limit} characters"))
    if len(complaint.detail) > MAX_DETAIL:
        problems.append(Problem("detail", f"情况说明最多 {MAX_DETAIL} 字",
                                f"detail has more than {MAX_DETAIL} characters"))
    if complaint.category not in ladder.departments:
        valid = "、".join(ladder.departments)
        problems.append(Problem("category", f"请选择事项类别（{valid}）", f"choose a category ({valid})"))
    levels = [level.key for level in ladder.levels]
    if complaint.channel not in ("resident", "grid_report", "secretary"):
        problems.append(Problem("channel", "渠道应为 resident、grid_report 或 secretary",
                                "the channel must be resident, grid_report or secretary"))
    if complaint.start_level and complaint.start_level not in levels and complaint.channel != "secretary":
        problems.append(Problem("start_level", f"起始层级应为 {'、'.join(levels)} 之一",
                                f"the first level must be one of {', '.join(levels)}"))
    evidence, attachment_problems = parse_attachments(complaint.attachments)
    problems += attachment_problems
    if problems:
        raise ComplaintError(problems)
    detail = complaint.detail.strip()
    signature = f"（{complaint.filed_by} 代居民登记 / filed for the resident by {complaint.filed_by}）"
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
                         ticket_id: str) -> str:
    """Check the complaint against its community's ladder and open the ticket; returns the ticket id.

    Opening the same ``ticket_id`` again while its ticket runs is not an error: it is the same complaint."""
    request = check_complaint(complaint, await community_ladder(pool, complaint.community))
    try:
        await open_ticket(client, request, task_queue=task_queue, ticket_id=ticket_id,
                          parent_id=complaint.deliberation_id or None)
    except WorkflowAlreadyStartedError:
        pass
    return ticket_id
