"""A meeting's notice in the community's building groups (issue 18).

A meeting's notices reach its invited parties through their invitation links; residents hear of the meeting in
their building groups, where committees post today. So the meeting notice itself (kind ``meeting``: when, where,
the agenda's titles and the public meeting page ``/meetings/<id>``) is queued on each group robot (WeCom,
DingTalk) of the community that sends that kind, one delivery per robot, like a deliberation's notice: the
worker's dispatcher sends it (rate limit, retries, outcome in the meeting's stream), the delivery board
``/console/d/<meeting id>/deliveries`` shows it, and the meeting never waits for it. Party names are not in it
(the public page shows none either). Other channels (SMS, e-mail, webhook) and the notices to the parties
(reminders, minutes) are still recorded as not sent: the parties are reached through their links.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import asyncpg
import structlog

from activities.eventstore import EventStore
from activities.meetings import load_meeting
from activities.stages import to_new
from domain.channel_config import Channel
from domain.errors import N_, Text
from domain.meeting_commands import when
from domain.meeting_state import Meeting
from domain.stage_events import NoticeDelivered, NoticePublished, NoticeQueued
from yishi.i18n import bilingual

if TYPE_CHECKING:
    from activities.notices import Delivery

log = structlog.get_logger(__name__)

ROBOTS = ("wecom", "dingtalk")
GROUP_KINDS = ("meeting",)
"""The meeting's notices that go to the building groups: the notice of the meeting itself."""


def to_groups(notice: NoticePublished, channel: Channel | None) -> bool:
    """Whether ``notice`` of a meeting goes through ``channel`` to a building group."""
    return (channel is not None and channel.kind in ROBOTS and notice.recipients is None
            and notice.kind in GROUP_KINDS and channel.sends(notice.kind))


def meeting_fields(meeting: Meeting, notice: NoticePublished, community: str, link: str) -> dict[str, str]:
    """The group message's fields (domain/notice_messages.py ``markdown``), in Chinese as the groups read."""
    agenda = "\n".join(f"{n}. {item.title}" for n, item in enumerate(meeting.items.values(), 1))
    body, _ = bilingual(N_("When: %(when)s\nWhere: %(place)s\nAgenda:\n%(agenda)s"),
                        when=when(meeting.starts_at) if meeting.starts_at else "—", place=meeting.place,
                        agenda=agenda or Text(N_("(to be set)")))
    link_text, _ = bilingual(N_("The meeting's page: notice, decisions and minutes"))
    return {"title": notice.title_zh, "body": body, "kind": notice.kind, "notice_id": notice.notice_id,
            "deadline": "", "community": community, "link": link, "link_text": link_text}


async def queue_for_groups(store: EventStore, pool: asyncpg.Pool, params: Delivery, channel: Channel,
                           public_base: str) -> NoticeDelivered:
    """Queue the meeting's notice on one group robot (idempotent: a retry queues and records nothing twice)."""
    notice, meeting_id = params.notice, params.deliberation_id
    meeting, _, _ = await load_meeting(store, meeting_id)
    link = f"{public_base.rstrip('/')}/meetings/{meeting_id}" if public_base else ""
    fields = meeting_fields(meeting, notice, params.community, link)
    group = ",".join(channel.groups)
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO notice_deliveries (deliberation_id, notice_id, channel, grp, kind, notice_kind, state,"
            " next_at, recipients, fields, community, roll_digest) VALUES ($1,$2,$3,$4,$5,$6,'queued',$7,0,$8,$9,'')"
            " ON CONFLICT DO NOTHING", meeting_id, notice.notice_id, params.channel, group, channel.kind,
            notice.kind, datetime.now(UTC), fields, params.community)
    event = NoticeQueued(at=notice.at, notice_id=notice.notice_id, channel=params.channel, groups={group: 0})
    key = f"notice:{notice.notice_id}:{params.channel}:queued"
    await store.append(meeting_id, to_new([event]), idempotency_key=key)
    log.info("notice.meeting_queued", meeting_id=meeting_id, notice_id=notice.notice_id, channel=params.channel,
             group=group)
    return NoticeDelivered(at=notice.at, notice_id=notice.notice_id, channel=params.channel, recipients=0,
                           reference="queued: 1 groups")
