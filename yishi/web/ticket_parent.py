"""Where a ticket came from (its ``parent_id``): a topic, a meeting or a deliberation, each with a page of its own.

The ticket page links to the parent's own page (``/console/topics/{id}``, ``/console/meetings/{id}``,
``/console/d/{id}``) only when the viewer may open it: the same roles and the same community rule as that page
(yishi/web/console_topics.py ``visible_topic``, console_meetings.py ``visible_meeting``, staff.py
``within_community``). Otherwise the page names the kind only, with no link, no id and no title.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import asyncpg

from yishi.services.accounts import Account
from yishi.services.console import may_see_community, may_see_deliberation
from yishi.web.console import ALL_STAFF
from yishi.web.console_meetings import SEE as MEETING_ROLES
from yishi.web.console_topics import READ_ROLES as TOPIC_ROLES

PAGES = {"topic": ("/console/topics/", TOPIC_ROLES), "meeting": ("/console/meetings/", MEETING_ROLES),
         "deliberation": ("/console/d/", ALL_STAFF)}


@dataclass(frozen=True)
class ParentLink:
    kind: str
    """``topic``, ``meeting`` or ``deliberation`` (labels.py ``parent_kind``)."""
    title: str | None = None
    path: str | None = None
    """None (and no title) when the viewer may not open the parent's page."""


async def parent_link(pool: asyncpg.Pool, account: Account, parent_id: str | None) -> ParentLink | None:
    """The ticket's parent as this account may see it; None when the ticket has none, or no registry lists it."""
    if not parent_id:
        return None
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT 'topic' AS kind, title, community FROM topics WHERE topic_id = $1"
            " UNION ALL SELECT 'meeting', title, community FROM meetings WHERE meeting_id = $1"
            " UNION ALL SELECT 'deliberation', title, community FROM deliberations WHERE id = $1 LIMIT 1", parent_id)
    if row is None:
        return None
    prefix, roles = PAGES[row["kind"]]
    if row["kind"] == "deliberation":
        visible = await may_see_deliberation(pool, account, parent_id)
    else:
        visible = may_see_community(account, row["community"])
    if not (visible and account.can(*roles)):
        return ParentLink(row["kind"])
    return ParentLink(row["kind"], row["title"], prefix + quote(parent_id, safe=""))
