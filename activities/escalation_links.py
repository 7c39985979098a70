"""The owner's follow-up link in the resolution's notice to the SMS/WeChat gateway (issue 17 item 7).

An owner answers their ticket through a personal link ``/f/<token>`` (yishi/services/follow_up.py): a capability
no staff page shows. The notice channels take it to the owner: when a ticket an owner opened is resolved, the
notice posted to the community's gateway carries the link in the owner's own recipient entry
(``follow_up_url``), for the gateway to send to that owner alone. Nothing else carries it: not the stream (the
``NoticePublished`` and ``NoticeDelivered`` events hold no token), not the printed notice sheet, not the e-mail
to the committee's addresses, not the log. The link is issued as the web tier issues it (only its hash kept;
the same link again on a retry), with the worker's ``YISHI_SECRET_KEY`` and ``YISHI_PUBLIC_BASE_URL``; a worker
without them posts the notice without the link and logs ``escalation.follow_up_link_unsent`` (the committee
then prints the owner's slip).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import structlog

from domain.escalation import Ticket
from domain.stage_events import NoticePublished

log = structlog.get_logger(__name__)
FOLLOW_UP_KINDS = ("escalation_resolved",)
"""The notices after which the owner has something to answer through the link (the satisfaction follow-up)."""


@dataclass(frozen=True)
class FollowUpLinks:
    pool: asyncpg.Pool
    secret_key: str = ""
    base_url: str = ""

    async def recipients(self, ticket: Ticket, notice: NoticePublished) -> list[dict[str, str]]:
        """The gateway's recipient entries for ``notice``; the owner's carries the follow-up link when due."""
        entries = [{"id": r} for r in notice.recipients or ()]
        if notice.kind not in FOLLOW_UP_KINDS or ticket.initiator_kind != "owner":
            return entries
        if not (self.secret_key and self.base_url):
            log.warning("escalation.follow_up_link_unsent", ticket_id=ticket.ticket_id, notice_id=notice.notice_id,
                        reason="the worker has no YISHI_SECRET_KEY or YISHI_PUBLIC_BASE_URL")
            return entries
        from yishi.services.follow_up import follow_up_link  # imports activities.escalation, which imports this

        issued = await follow_up_link(self.pool, ticket, secret_key=self.secret_key, now=notice.at)
        url = f"{self.base_url.rstrip('/')}/f/{issued.token}"
        return [{**e, "follow_up_url": url} if e["id"] == ticket.initiator else e for e in entries]
