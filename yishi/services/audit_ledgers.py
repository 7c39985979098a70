"""The auditor's view of the community ledgers (issue 20), pure: rows in, :class:`Check` out.

A points ledger (``points-<community>``), a volunteer record (``volunteers-<community>``), a street's register of
property companies (``companies-<street>``) and an appraisal (``appraisal-<id>``) are checked like any stream
(chain, ``streams`` row; an appraisal's workflow runs are replayed and its heads witnessed) and, on top of that,
replayed with the domain code: every event must read as one of its kind and follow from the ones before it
(domain/points_audit.py, domain/volunteers.py ``roster_problem``, domain/appraisal.py ``appraisal_problem``); an
appraisal's recorded result must equal the recount and the result its workflow published; each red/black list a
register published must equal the list recomputed from the appraisal and ticket streams it rests on, as they stood
when it was published. None of these events is a ballot: the ballot box's recount never sees them.
tools/verify_export.py re-implements the same checks from an export.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from domain.appraisal import appraisal_problem
from domain.appraisal import fold as fold_appraisal
from domain.appraisal_events import APPRAISAL_EVENT_TYPES, appraisal_event_from_dict
from domain.company_events import COMPANY_EVENT_TYPES, ListPublished, company_event_from_dict
from domain.company_list import AppraisalSummary, Register, TicketSummary, compute_list
from domain.points import fold as fold_points
from domain.points_audit import ledger_problem
from domain.points_events import POINTS_EVENT_TYPES, points_event_from_dict
from domain.volunteer_events import VOLUNTEER_EVENT_TYPES, volunteer_event_from_dict
from domain.volunteers import fold as fold_roster
from domain.volunteers import roster_problem
from yishi.services.audit_checks import Check, Row, Witness, first_difference

KINDS = {"LedgerOpened": ("points", POINTS_EVENT_TYPES, points_event_from_dict),
         "VolunteersOpened": ("volunteers", VOLUNTEER_EVENT_TYPES, volunteer_event_from_dict),
         "RegisterOpened": ("register", COMPANY_EVENT_TYPES, company_event_from_dict),
         "AppraisalOpened": ("appraisal", APPRAISAL_EVENT_TYPES, appraisal_event_from_dict)}
WITHOUT_WORKFLOW = frozenset(("points", "volunteers", "register"))
"""Ledger kinds the services keep without a workflow: no Temporal run is expected for them."""


def ledger_kind(rows: Sequence[Row]) -> str | None:
    return KINDS[rows[0]["type"]][0] if rows and rows[0]["type"] in KINDS else None


def runs_not_expected(stream_id: str, rows: Sequence[Row]) -> Check | None:
    """For a ledger kept without a workflow, the verdict on its Temporal runs (none is expected); None otherwise."""
    kind = ledger_kind(rows)
    if kind not in WITHOUT_WORKFLOW:
        return None
    return Check("temporal_runs", True, f"a {kind} stream: kept by the services under its lock, no workflow to replay",
                 stream_id)


def _read(stream_id: str, rows: Sequence[Row]) -> tuple[list[Any], list[int]] | Check:
    _kind, types, parse = KINDS[rows[0]["type"]]
    events, seqs = [], []
    for row in rows:
        if row["type"] not in types:
            continue
        try:
            events.append(parse(row["type"], dict(row["payload"])))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            return Check("ledger", False, f"seq {row['seq']}: {row['type']} does not read as a {_kind} event "
                         f"({where}: {first.get('msg')})", stream_id, row["seq"])
        seqs.append(row["seq"])
    return events, seqs


def check_ledger(stream_id: str, rows: Sequence[Row], rows_by_stream: Mapping[str, Sequence[Row]],
                 witnesses: Sequence[Witness]) -> Check | None:
    """The domain's replay of a ledger stream; None for other streams."""
    kind = ledger_kind(rows)
    if kind is None:
        return None
    read = _read(stream_id, rows)
    if isinstance(read, Check):
        return read
    events, seqs = read
    problem = {"points": ledger_problem, "volunteers": roster_problem, "appraisal": appraisal_problem,
               "register": lambda e: None}[kind](events)
    if problem is not None:
        index, what = problem
        return Check("ledger", False, f"seq {seqs[index]}: {what}", stream_id, seqs[index])
    if kind == "appraisal":
        return _appraisal_verdict(stream_id, events, witnesses)
    if kind == "register":
        return _register_verdict(stream_id, events, seqs, rows_by_stream)
    return Check("ledger", True, _summary(kind, events), stream_id)


def _summary(kind: str, events: list[Any]) -> str:
    if kind == "points":
        state = fold_points(events)
        people = state.people.values()
        return (f"{len(events)} points events replay: {len(state.people)} people, "
                f"{sum(a.earned for a in people)} points earned, {sum(a.spent for a in people)} spent on "
                f"{sum(1 for r in state.redemptions.values() if r.status != 'cancelled')} redemptions, no balance or "
                "stock below zero, every award as its rule gives, no rule about ballot content")
    roster = fold_roster(events)
    minutes = sum(a.minutes or 0 for act in roster.activities.values() for a in act.attendance.values())
    return (f"{len(events)} volunteer events replay: {len(roster.teams)} teams, {len(roster.activities)} activities, "
            f"{minutes} minutes credited, every check-out counting its stay")


def _appraisal_verdict(stream_id: str, events: list[Any], witnesses: Sequence[Witness]) -> Check:
    state = fold_appraisal(events)
    recount = state.result().model_dump(mode="json") if state.opened is not None else None
    for close in (w for w in witnesses if w.stream_id == stream_id and w.activity == "close_appraisal"):
        diff = first_difference(recount, close.results)
        if diff:
            return Check("ledger", False, f"the result published by close_appraisal ({close.where}) differs — {diff}",
                         stream_id, close.seq)
    if state.recorded is None:
        return Check("ledger", True, f"appraisal open: {len(state.ratings)} of {len(state.areas)} owners rated, one "
                     "rating each", stream_id)
    return Check("ledger", True, f"appraisal recount equals the recorded and published result: score "
                 f"{recount['score'] if recount else None}, {len(state.ratings)} of {len(state.areas)} owners, "
                 "one rating each", stream_id)


def _until(rows: Sequence[Row], at: datetime) -> list[Row]:
    return [r for r in rows if datetime.fromisoformat(str(r["payload"].get("at"))) <= at]


def _summaries(register: Register, rows_by_stream: Mapping[str, Sequence[Row]],
               at: datetime) -> tuple[list[AppraisalSummary], list[TicketSummary]]:
    appraisals = []
    for appraisal_id, scheduled in sorted(register.appraisals.items()):
        rows = _until(rows_by_stream.get(appraisal_id, ()), at)
        state = fold_appraisal(appraisal_event_from_dict(r["type"], dict(r["payload"])) for r in rows
                               if r["type"] in APPRAISAL_EVENT_TYPES)
        result = state.recorded.result if state.recorded is not None else None
        appraisals.append(AppraisalSummary(appraisal_id=appraisal_id, credit_code=scheduled.credit_code,
                                           period=scheduled.period, closed=result is not None,
                                           score=result.score if result else None,
                                           participation=result.participation if result else None))
    tickets = []
    for ticket_id in sorted(register.attributions):
        rows = _until(rows_by_stream.get(ticket_id, ()), at)
        opened = next((datetime.fromisoformat(r["payload"]["at"]) for r in rows if r["type"] == "EscalationOpened"),
                      None)
        tickets.append(TicketSummary(ticket_id=ticket_id, opened_at=opened,
                                     cancelled=any(r["type"] == "Cancelled" for r in rows)))
    return appraisals, tickets


def _register_verdict(stream_id: str, events: list[Any], seqs: list[int],
                      rows_by_stream: Mapping[str, Sequence[Row]]) -> Check:
    register = Register()
    lists = 0
    for event, seq in zip(events, seqs, strict=True):
        if isinstance(event, ListPublished):
            appraisals, tickets = _summaries(register, rows_by_stream, event.at)
            expected = compute_list(register, event.period, event.thresholds, appraisals, tickets)
            diff = first_difference([e.model_dump(mode="json") for e in expected],
                                    [e.model_dump(mode="json") for e in event.entries])
            if diff:
                return Check("ledger", False, f"seq {seq}: the {event.period} red/black list differs from the list "
                             f"recomputed from its appraisals and tickets — {diff}", stream_id, seq)
            lists += 1
        register.apply(event)
    return Check("ledger", True, f"{len(register.companies)} companies, {len(register.appraisals)} appraisals, "
                 f"{len(register.attributions)} tickets attributed; {lists} published red/black lists equal their "
                 "recomputation", stream_id)


def named_streams(rows: Sequence[Row]) -> list[str]:
    """The streams a register rests on: its appraisals and the tickets it attributed (read with it)."""
    if ledger_kind(rows) != "register":
        return []
    found = [r["payload"].get("appraisal_id") if r["type"] == "AppraisalScheduled" else r["payload"].get("ticket_id")
             for r in rows if r["type"] in ("AppraisalScheduled", "TicketAttributed")]
    return [s for s in dict.fromkeys(found) if isinstance(s, str)]
