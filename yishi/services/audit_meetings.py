"""The auditor's view of meeting and series streams (issue 16), pure: rows in, :class:`Check` out.

Kept apart from audit_checks.py (as audit_topics.py is) so each kind merges beside the other. A meeting stream
(``meeting-<12 hex>``) and a series stream (``series-<12 hex>``) are checked like any stream (chain, ``streams``
row) and their workflow runs are replayed; on top of that each event must read as a meeting event and the stream
must hold together (:func:`meeting_problem`, the same rules as ``tools/verify_export.py``): it starts with its own
``MeetingScheduled``; minutes versions and the meeting's minutes version advance one at a time; a confirmation names
the version current then; the publication lists exactly the parties that had and had not confirmed it, and
publishes early only when none was missing; nothing but a vote's count follows the publication, nothing follows a
cancellation; every act through a link names an invitation link issued to that holder (in the meeting's stream or
its series') and not revoked before. None of these events is a ballot: nothing here is recounted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from domain.capability_events import CAPABILITY_EVENT_TYPES, capability_event_from_dict
from domain.meeting_events import MEETING_EVENT_TYPES, meeting_event_from_dict
from domain.meeting_series import SERIES_EVENT_TYPES, series_event_from_dict
from domain.meeting_state import fold
from yishi.services.audit_checks import Check, Row

AFTER_PUBLICATION = frozenset(("ItemVoteCounted",))


def meeting_streams_named(rows_by_stream: Mapping[str, Sequence[Row]]) -> dict[str, list[str]]:
    """Streams a meeting, series or consultation names and an audit of it reads too: the meeting a consultation
    convened, a meeting's series, a series' meetings, the ballot box a meeting's decision opened."""
    found: dict[str, list[str]] = {}
    for stream_id, rows in rows_by_stream.items():
        for row in rows:
            kind, p = row["type"], row["payload"]
            named = None
            if kind in ("MeetingConvened", "OccurrenceScheduled"):
                named = p.get("meeting_id")
            elif kind == "MeetingScheduled":
                named = p.get("series_id")
            elif kind == "DecisionRecorded" and (p.get("decision") or {}).get("kind") == "vote":
                named = p["decision"].get("deliberation_id")
            if isinstance(named, str) and named != stream_id:
                found.setdefault(named, []).append(f"{kind} {stream_id} seq {row['seq']}")
    return found


def meeting_tickets_named(rows_by_stream: Mapping[str, Sequence[Row]]) -> dict[str, list[str]]:
    """Escalation tickets a meeting's decisions opened (吹哨); each must have its own stream."""
    found: dict[str, list[str]] = {}
    for stream_id, rows in rows_by_stream.items():
        for row in rows:
            decision = row["payload"].get("decision") if row["type"] == "DecisionRecorded" else None
            if isinstance(decision, dict) and decision.get("kind") == "escalated":
                ticket = decision.get("ticket_id")
                if isinstance(ticket, str):
                    found.setdefault(ticket, []).append(f"DecisionRecorded {stream_id} seq {row['seq']}")
    return found


def _links(rows: Sequence[Row]) -> dict[str, tuple[str, str | None]]:
    """Invitation link hash -> (holder, when it was revoked or None), from one stream's rows."""
    links: dict[str, tuple[str, str | None]] = {}
    for row in rows:
        p = row["payload"]
        if row["type"] == "CapabilityIssued" and p.get("kind") == "invitation":
            links[p.get("token_sha256")] = (p.get("holder"), None)
        elif row["type"] == "CapabilityRevoked" and p.get("kind") == "invitation" and p.get("token_sha256") in links:
            links[p["token_sha256"]] = (links[p["token_sha256"]][0], row["occurred_at"])
    return links


def _link_problem(p: dict[str, Any], at: str, links: dict[str, tuple[str, str | None]]) -> str | None:
    via = p.get("via")
    if via not in ("link", "door"):
        return None
    holder = "door" if via == "door" else p.get("party_id")
    known = links.get(p.get("link_sha256"))
    if known is None or known[0] != holder:
        return f"acts through a link ({via}) that no CapabilityIssued gave to {holder!r}"
    if known[1] is not None and known[1] <= at:
        return f"acts through a link of {holder!r} revoked at {known[1]}"
    return None


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


def meeting_problem(stream_id: str, rows: Sequence[Row],  # noqa: C901 - one rule per event type
                    series_rows: Sequence[Row] = ()) -> tuple[int | None, str] | None:
    """The first way the stream does not hold together as a meeting, ``(seq, what)``; the same rules as
    tools/verify_export.py ``meeting_problem``."""
    first = rows[0]["payload"]
    if first.get("meeting_id") != stream_id:
        return rows[0]["seq"], f"MeetingScheduled names meeting {first.get('meeting_id')!r}, not {stream_id!r}"
    links = {**_links(series_rows), **_links(rows)}
    parties: set[str] = set()
    versions: dict[str, int] = {}
    confirmed: dict[str, int] = {}
    mv, status, until = 0, "scheduled", None
    for row in rows[1:]:
        kind, p, seq = row["type"], row["payload"], row["seq"]
        if kind not in MEETING_EVENT_TYPES:
            continue
        if status == "cancelled" or (status == "published" and kind not in AFTER_PUBLICATION):
            return seq, f"{kind} after the meeting was {status}"
        if kind == "MeetingScheduled":
            return seq, "a second MeetingScheduled"
        if kind in ("PositionStated", "AttendanceSigned", "MinutesConfirmed"):
            if p.get("party_id") is not None and p.get("party_id") not in parties:
                return seq, f"{kind} of {p.get('party_id')!r}, a party never invited"
            if (problem := _link_problem(p, row["occurred_at"], links)) is not None:
                return seq, f"{kind} {problem}"
        if kind == "PartyInvited":
            parties.add((p.get("party") or {}).get("party_id"))
        elif kind == "AgendaItemAdded":
            versions[p.get("item_id")] = 0
        elif kind in ("MinutesRecorded", "DecisionRecorded"):
            item = p.get("item_id")
            if item not in versions:
                return seq, f"{kind} for item {item!r}, not on the agenda"
            if kind == "MinutesRecorded":
                if p.get("version") != versions[item] + 1:
                    return seq, f"minutes of item {item} as version {p.get('version')}, after {versions[item]}"
                versions[item] += 1
            if p.get("minutes_version") != mv + 1:
                return seq, f"minutes version {p.get('minutes_version')} after {mv} (one step at a time)"
            mv += 1
        elif kind in ("MeetingHeld", "ConfirmationReopened"):
            if p.get("minutes_version") != mv:
                return seq, f"{kind} for minutes version {p.get('minutes_version')}, the current is {mv}"
            status, until = "held", p.get("confirm_until")
        elif kind == "MinutesConfirmed":
            if status != "held" or p.get("minutes_version") != mv:
                return seq, f"confirms minutes version {p.get('minutes_version')} while {mv} is current ({status})"
            confirmed[p.get("party_id")] = mv
        elif kind == "MinutesPublished":
            done = {x for x in parties if confirmed.get(x) == mv}
            if status != "held" or p.get("minutes_version") != mv:
                return seq, f"publishes minutes version {p.get('minutes_version')} while {mv} is current ({status})"
            if set(p.get("confirmed") or ()) != done or set(p.get("unconfirmed") or ()) != parties - done:
                return seq, (f"lists as confirmed {sorted(p.get('confirmed') or ())}, but "
                             f"{sorted(done)} confirmed version {mv} and {sorted(parties - done)} did not")
            early = until is None or _instant(row["occurred_at"]) < _instant(until)
            if (parties - done) and early:
                return seq, f"published before the window's end ({until}) with {sorted(parties - done)} unconfirmed"
            status = "published"
        elif kind == "MeetingCancelled":
            status = "cancelled"
    return None


def _decoded(stream_id: str, rows: Sequence[Row]) -> tuple[list[Any], Check | None]:
    events = []
    for row in rows:
        kind = row["type"]
        decode = (meeting_event_from_dict if kind in MEETING_EVENT_TYPES else capability_event_from_dict
                  if kind in CAPABILITY_EVENT_TYPES else series_event_from_dict if kind in SERIES_EVENT_TYPES
                  else None)
        if decode is None:
            continue
        try:
            events.append(decode(kind, dict(row["payload"])))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            return [], Check("meeting", False, f"seq {row['seq']}: {kind} does not read as a meeting event "
                             f"({where}: {first.get('msg')})", stream_id, row["seq"])
    return events, None


def check_meeting(stream_id: str, rows: Sequence[Row],
                  rows_by_stream: Mapping[str, Sequence[Row]] | None = None) -> Check | None:
    """A meeting's or series' events read, fold and hold together; None for other streams."""
    if not rows or rows[0]["type"] not in ("MeetingScheduled", "SeriesPlanned"):
        return None
    events, failed = _decoded(stream_id, rows)
    if failed is not None:
        return failed
    if rows[0]["type"] == "SeriesPlanned":
        if rows[0]["payload"].get("series_id") != stream_id:
            return Check("meeting", False, "seq 1: SeriesPlanned names another series", stream_id, 1)
        held = sum(1 for row in rows if row["type"] == "OccurrenceScheduled")
        return Check("meeting", True, f"series: {held} meetings scheduled", stream_id)
    series = (rows_by_stream or {}).get(rows[0]["payload"].get("series_id") or "", ())
    problem = meeting_problem(stream_id, rows, series)
    if problem is not None:
        return Check("meeting", False, f"seq {problem[0]}: {problem[1]}", stream_id, problem[0])
    m = fold(events)
    decided = sum(1 for i in m.items.values() if i.decision is not None)
    return Check("meeting", True, f"{len(events)} meeting events read and fold: {m.status}, {len(m.items)} items "
                 f"({decided} decided), {len(m.parties)} parties, {len(m.attendees)} signed in, minutes version "
                 f"{m.minutes_version} confirmed by {len(m.confirmed_now())}", stream_id)
