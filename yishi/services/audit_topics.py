"""The auditor's view of topic streams (issue 16), pure: rows in, :class:`Check` out.

Kept apart from audit_checks.py so the meetings' own audit functions merge beside it. A topic stream
(``topic-<12 hex>``) is checked like any stream (chain, ``streams`` row) and its workflow runs are replayed; on top of
that each event must read as a topic event and the stream must hold together: it starts with its own
``TopicRaised``, a hidden comment was posted before it was hidden, the topic reopens at most once, and no topic
event follows its end (declined, merged, closed). ``tools/verify_export.py`` checks the same from an export.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import ValidationError

from domain.topic_events import TOPIC_EVENT_TYPES, topic_event_from_dict
from domain.topic_state import TERMINAL, fold
from yishi.services.audit_checks import Check, Row

ENDS = frozenset(("TopicDeclined", "TopicMerged", "TopicClosed"))


def is_topic_stream(rows: Sequence[Row]) -> bool:
    return bool(rows) and rows[0]["type"] == "TopicRaised"


def topic_tickets_named(rows_by_stream: Mapping[str, Sequence[Row]]) -> dict[str, list[str]]:
    """Escalation tickets a topic's stream names: routed to the ladder (``TopicRouted``) or escalated by a meeting's
    decision (``TopicDecided``); each must have its own stream."""
    found: dict[str, list[str]] = {}
    for stream_id, rows in rows_by_stream.items():
        for row in rows:
            payload = row["payload"]
            ticket = None
            if row["type"] == "TopicRouted" and payload.get("target") == "ladder":
                ticket = payload.get("ticket_id")
            elif row["type"] == "TopicDecided":
                ticket = (payload.get("decision") or {}).get("ticket_id")
            if isinstance(ticket, str):
                found.setdefault(ticket, []).append(f"{row['type']} {stream_id} seq {row['seq']}")
    return found


def structure_problem(stream_id: str, rows: Sequence[Row]) -> tuple[int | None, str] | None:
    """The first way the stream does not hold together as a topic, ``(seq, what)``; the same rules as
    tools/verify_export.py ``topic_problem``."""
    first = rows[0]
    if first["payload"].get("topic_id") != stream_id:
        return first["seq"], f"TopicRaised names topic {first['payload'].get('topic_id')!r}, not {stream_id!r}"
    posted: set[str] = set()
    reopened, ended = 0, None
    for row in rows[1:]:
        kind, payload, seq = row["type"], row["payload"], row["seq"]
        if kind not in TOPIC_EVENT_TYPES:
            continue
        if ended is not None:
            return seq, f"{kind} after the topic ended ({ended})"
        if kind == "TopicRaised":
            return seq, "a second TopicRaised"
        if kind == "CommentPosted":
            posted.add(payload.get("comment_id"))
        elif kind == "CommentHidden" and payload.get("comment_id") not in posted:
            return seq, f"hides comment {payload.get('comment_id')!r}, which was never posted"
        elif kind == "TopicReopened":
            reopened += 1
            if reopened > 1:
                return seq, "reopened a second time (a topic reopens once)"
        if kind in ENDS:
            ended = f"{kind} at seq {seq}"
    return None


def check_topic(stream_id: str, rows: Sequence[Row]) -> Check | None:
    """The topic's events read and fold with the domain, and the stream holds together; None for other streams."""
    if not is_topic_stream(rows):
        return None
    events = []
    for row in rows:
        if row["type"] in TOPIC_EVENT_TYPES:
            try:
                events.append(topic_event_from_dict(row["type"], dict(row["payload"])))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ()))
                return Check("topic", False, f"seq {row['seq']}: {row['type']} does not read as a topic event "
                             f"({where}: {first.get('msg')})", stream_id, row["seq"])
    problem = structure_problem(stream_id, rows)
    if problem is not None:
        return Check("topic", False, f"seq {problem[0]}: {problem[1]}", stream_id, problem[0])
    topic = fold(events)
    hidden = sum(1 for c in topic.comments if c.hidden_reason is not None)
    state = "ended" if topic.status in TERMINAL else "open"
    return Check("topic", True, f"{len(events)} topic events read and fold: {topic.status} ({state}), "
                 f"{topic.supporter_count} supporters, {topic.comment_count} comments ({hidden} hidden, their text "
                 f"kept), reopened {topic.reopens} time(s)", stream_id)
