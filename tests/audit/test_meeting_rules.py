"""The meeting stream's own rules, pure, in both verifiers (yishi/services/audit_meetings.py and the standard-library
tools/verify_export.py): a stream the decider wrote holds together; a publication that hides a missing
confirmation, a confirmation of a stale version, an act through a link never issued (or revoked before) and a
minute after publication are each named by seq, by both alike."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from audit_helpers import VERIFIER

from domain.meeting_commands import AddItem, Confirm, Decide, Hold, Invite, Publish, RecordMinutes, Schedule
from domain.meeting_events import MeetingDecision, MeetingScheduled, PartySpec
from domain.meeting_state import fold
from domain.meetings import decide
from domain.topic_events import Actor
from yishi.services.audit_meetings import check_meeting, meeting_problem

_spec = importlib.util.spec_from_file_location("verify_export", VERIFIER)
assert _spec and _spec.loader
standalone: Any = sys.modules.setdefault("verify_export", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(standalone)

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
START = T0 + timedelta(days=4)
MID = "meeting-0123456789ab"
CLERK = Actor(kind="committee", name="李书记", community="xfl")
LINK = "a" * 64


def party(pid: str) -> Actor:
    return Actor(kind="party", name=pid, community="xfl")


def rows() -> list[dict[str, Any]]:
    """A meeting written by the decider: two parties, one item, held, p1 confirms through its link, published at the
    window's end with p2 unconfirmed; as stored rows (the link issued as the capability module records it)."""
    commands: list[Any] = [
        Schedule(at=T0, event=MeetingScheduled(at=T0, meeting_id=MID, community="xfl", title="议事会", kind="council",
                                               starts_at=START, place="议事厅", by=CLERK)),
        *(Invite(at=T0, by=CLERK, party=PartySpec(party_id=p, kind="owner_rep", name=p), link_subject=MID)
          for p in ("p1", "p2")),
        AddItem(at=T0, by=CLERK, title="楼道堆物"),
        RecordMinutes(at=START, by=CLERK, item_id="1", text="讨论"),
        Decide(at=START, by=CLERK, item_id="1", decision=MeetingDecision(kind="deferred", summary="下次")),
        Hold(at=START, by=CLERK, confirm_until=START + timedelta(days=3)),
        Confirm(at=START, by=party("p1"), party_id="p1", minutes_version=2, via="link", link_sha256=LINK),
        Publish(at=START + timedelta(days=3))]
    m, events = fold([]), []
    for c in commands:
        new = decide(m, c)
        m, events = fold(new, m), [*events, *new]
    out = [{"type": e.type, "payload": e.model_dump(mode="json"), "occurred_at": e.at.astimezone(UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")} for e in events]
    issued = {"type": "CapabilityIssued", "occurred_at": out[1]["occurred_at"], "payload": {
        "kind": "invitation", "holder": "p1", "generation": 1, "token_sha256": LINK, "issued_by": "李书记",
        "at": T0.isoformat()}}
    out.insert(3, issued)
    return [{**row, "seq": n} for n, row in enumerate(out, start=1)]


def both(stream: list[dict[str, Any]]) -> tuple[Any, Any]:
    return meeting_problem(MID, stream), standalone.meeting_problem(MID, stream, [])


def seq_of(stream: list[dict[str, Any]], kind: str) -> int:
    return next(r["seq"] for r in stream if r["type"] == kind)


def test_a_stream_the_decider_wrote_holds_together() -> None:
    stream = rows()
    assert both(stream) == (None, (None, None))
    assert check_meeting(MID, stream).ok  # type: ignore[union-attr]
    assert standalone.check_meeting(MID, stream, {MID: stream}).ok


def test_each_broken_rule_is_named_alike_by_both() -> None:
    hidden = rows()
    published = seq_of(hidden, "MinutesPublished")
    hidden[published - 1]["payload"].update(confirmed=["p1", "p2"], unconfirmed=[], reason="all_confirmed")
    stale = rows()
    stale[seq_of(stale, "MinutesConfirmed") - 1]["payload"]["minutes_version"] = 1
    forged = rows()
    forged[seq_of(forged, "MinutesConfirmed") - 1]["payload"]["link_sha256"] = "b" * 64
    revoked = rows()
    revoked.insert(4, {"type": "CapabilityRevoked", "occurred_at": revoked[3]["occurred_at"], "payload": {
        "kind": "invitation", "holder": "p1", "generation": 1, "token_sha256": LINK, "revoked_by": "x",
        "reason": "lost", "at": T0.isoformat()}})
    revoked = [{**row, "seq": n} for n, row in enumerate(revoked, start=1)]
    late = rows()
    late.append({**late[seq_of(late, "MinutesRecorded") - 1], "seq": len(late) + 1})
    cases = {"hidden": (hidden, published, "did not"), "stale": (stale, seq_of(stale, "MinutesConfirmed"), "version"),
             "forged": (forged, seq_of(forged, "MinutesConfirmed"), "no CapabilityIssued"),
             "revoked": (revoked, seq_of(revoked, "MinutesConfirmed"), "revoked"),
             "late": (late, len(late), "after the meeting was published")}
    for name, (stream, seq, said) in cases.items():
        mine, theirs = both(stream)
        assert mine is not None and mine[0] == seq and said in mine[1], (name, mine)
        assert theirs == mine, (name, theirs, mine)
