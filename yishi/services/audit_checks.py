"""The auditor's checks on one event stream, pure: rows and witnesses in, :class:`Check` out.

A *row* is an event as stored: the seven envelope fields of docs/log-format.md (timestamps already in
their canonical text) plus ``hash``. A *witness* is a stream head ``(seq, hash)`` that a workflow recorded
in its Temporal history (results of the activities ``open_box``, ``record_checkpoint`` and ``seal_box``).
The database can be rewritten by its superuser; the histories cannot be rewritten from the database, so
each witness must still hold in the stream.

``tools/verify_export.py`` re-implements the same checks with the standard library only, from an export.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import TypeAdapter

from domain.box_state import fold
from domain.chain import ChainBreak, verify_chain
from domain.events import EVENT_TYPES, Event, event_from_dict
from domain.roll import RoomEntry, check_unique_rooms, entries_digest

Row = Mapping[str, Any]
BOX_EVENT_TYPES = frozenset(EVENT_TYPES)
"""Ballot-box events: none of these may follow the sealed head (stage events may)."""


@dataclass(frozen=True)
class Check:
    """One verdict. ``seq`` names the first bad event when the failure is about one. ``interim``: it holds only so
    far (the box is not sealed; the check must be run again after the seal). ``results``: the recounted result by
    question, on a sealed box's recount that holds (for the page to state it in words)."""

    name: str
    ok: bool
    detail: str
    subject: str = ""
    seq: int | None = None
    interim: bool = False
    results: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("interim", "results"):  # written only when set: the JSON of older checks is unchanged
            if not out[key]:
                del out[key]
        return out


@dataclass(frozen=True)
class Witness:
    """A stream head recorded in a Temporal history; ``results`` only for ``seal_box``."""

    stream_id: str
    seq: int
    hash: str
    activity: str
    where: str
    results: dict[str, Any] | None = field(default=None, compare=False)
    outcome: str | None = None
    approved: bool | None = None


def short(digest: str) -> str:
    return digest[:12] + "…" if len(digest) > 12 else digest


# ---- chain ---------------------------------------------------------------------------------------------


def check_chain(stream_id: str, rows: Sequence[Row]) -> Check:
    """Seq continuity and every hash, recomputed from the columns (domain.chain.verify_chain)."""
    if not rows:
        return Check("chain", False, "the stream has no events", stream_id)
    try:
        seq, head = verify_chain(rows, stream_id)
    except ChainBreak as exc:
        return Check("chain", False, str(exc), stream_id, exc.seq)
    return Check("chain", True, f"{len(rows)} events, seq 1..{seq} contiguous, head {short(head)}", stream_id)


def check_stream_row(stream_id: str, rows: Sequence[Row], head: tuple[int, str] | None) -> Check:
    """The ``streams`` row (the store's own head) against the last event."""
    last = (rows[-1]["seq"], rows[-1]["hash"]) if rows else (0, "0" * 64)
    if head is None:
        return Check("stream_head", False, "no row in the streams table", stream_id)
    if tuple(head) != last:
        detail = (f"streams table says head seq {head[0]} hash {short(head[1])}, "
                  f"the last event is seq {last[0]} hash {short(last[1])}")
        return Check("stream_head", False, detail, stream_id, min(head[0], last[0]) + 1)
    return Check("stream_head", True, f"streams table head = last event (seq {last[0]})", stream_id)


# ---- escalation tickets --------------------------------------------------------------------------------


def tickets_named(rows_by_stream: Mapping[str, Sequence[Row]]) -> dict[str, list[str]]:
    """Ticket ids named by ``EscalationStarted`` events (the parent's record of each child ticket)."""
    found: dict[str, list[str]] = {}
    for stream_id, rows in rows_by_stream.items():
        for row in rows:
            ticket = row["payload"].get("ticket_id") if row["type"] == "EscalationStarted" else None
            if isinstance(ticket, str):
                found.setdefault(ticket, []).append(f"EscalationStarted {stream_id} seq {row['seq']}")
    return found


def check_tickets(deliberation_id: str, tickets: Mapping[str, Sequence[str]],
                  rows_by_stream: Mapping[str, Sequence[Row]]) -> Check:
    """Every escalation ticket of the deliberation has its own stream here (checked like any stream: chain,
    seq, ``streams`` row); a ticket named somewhere but without a stream was deleted or never recorded."""
    if not tickets:
        return Check("tickets", True, "no escalation tickets", deliberation_id)
    missing = [t for t in sorted(tickets) if not rows_by_stream.get(t)]
    if missing:
        ticket = missing[0]
        detail = (f"ticket {ticket} (named by {'; '.join(tickets[ticket])}) has no events in the store; "
                  f"{len(missing)} of {len(tickets)} ticket streams missing")
        return Check("tickets", False, detail, ticket)
    listed = ", ".join(f"{t} ({len(rows_by_stream[t])} events)" for t in sorted(tickets))
    return Check("tickets", True, f"{len(tickets)} ticket streams checked: {listed}", deliberation_id)


# ---- witnesses -----------------------------------------------------------------------------------------


def _witness_problem(witness: Witness, by_seq: Mapping[int, Row], last_seq: int) -> str | None:
    if witness.seq == 0:
        return None if witness.hash == "0" * 64 else "an empty head must have 64 zeros"
    row = by_seq.get(witness.seq)
    if row is None:
        return f"the stream has no seq {witness.seq} (it ends at seq {last_seq})"
    if row["hash"] != witness.hash:
        return f"the stream has hash {short(row['hash'])} at seq {witness.seq}"
    return None


def check_witnesses(stream_id: str, rows: Sequence[Row], witnesses: Sequence[Witness]) -> Check:
    """Every checkpoint recorded in a Temporal history must name an event of the stream, hash for hash."""
    mine = [w for w in witnesses if w.stream_id == stream_id]
    if not mine:
        if opened_payloads(rows):
            return Check("checkpoints", False, "a ballot box was opened on this stream but no Temporal history "
                         "witnesses it", stream_id, opened_payloads(rows)[0][0])
        return Check("checkpoints", True, "no ballot box on this stream; nothing to witness", stream_id)
    by_seq = {row["seq"]: row for row in rows}
    last_seq = rows[-1]["seq"] if rows else 0
    bad = [(w, p) for w in mine if (p := _witness_problem(w, by_seq, last_seq))]
    if bad:
        witness, problem = min(bad, key=lambda item: item[0].seq)
        detail = (f"checkpoint seq {witness.seq} hash {short(witness.hash)} ({witness.activity}, {witness.where}): "
                  f"{problem}; {len(bad)} of {len(mine)} checkpoints fail")
        return Check("checkpoints", False, detail, stream_id, witness.seq)
    top = max(w.seq for w in mine)
    return Check("checkpoints", True, f"{len(mine)} checkpoints match (highest seq {top})", stream_id)


def sealed_seq(rows: Sequence[Row]) -> int | None:
    """The seq of the first ``ResultRecorded``: the final head the seal appends with ``BoxSealed``."""
    return next((row["seq"] for row in rows if row["type"] == "ResultRecorded"), None)


def _seal_problem(witness: Witness, by_seq: Mapping[int, Row], last_seq: int) -> str | None:
    problem = _witness_problem(witness, by_seq, last_seq)
    if problem:
        return problem
    row, before = by_seq[witness.seq], by_seq.get(witness.seq - 1)
    if row["type"] != "ResultRecorded":
        return f"seq {witness.seq} is a {row['type']}, expected ResultRecorded"
    if before is None or before["type"] != "BoxSealed":
        return f"seq {witness.seq - 1} should be the BoxSealed appended with the result"
    return None


def check_sealed_head(stream_id: str, rows: Sequence[Row], witnesses: Sequence[Witness]) -> Check:
    """The final head published by ``seal_box`` (the result notice) against the stream."""
    seals = [w for w in witnesses if w.stream_id == stream_id and w.activity == "seal_box"]
    in_stream = sealed_seq(rows)
    if not seals:
        if in_stream is not None:
            return Check("sealed_head", False, f"the stream records a result at seq {in_stream} but no Temporal "
                         "history witnesses a seal (history deleted, or events forged)", stream_id, in_stream)
        return Check("sealed_head", True, "not sealed (yet): no final head to check", stream_id, interim=True)
    by_seq = {row["seq"]: row for row in rows}
    last_seq = rows[-1]["seq"] if rows else 0
    for witness in seals:
        problem = _seal_problem(witness, by_seq, last_seq)
        if problem:
            detail = f"published head seq {witness.seq} hash {short(witness.hash)} ({witness.where}): {problem}"
            return Check("sealed_head", False, detail, stream_id, witness.seq)
    if in_stream is not None and in_stream != seals[0].seq:
        detail = f"the stream records a result at seq {in_stream}, the published head is seq {seals[0].seq}"
        return Check("sealed_head", False, detail, stream_id, min(in_stream, seals[0].seq))
    return Check("sealed_head", True, f"published head seq {seals[0].seq} hash {short(seals[0].hash)} matches",
                 stream_id)


def check_after_seal(stream_id: str, rows: Sequence[Row]) -> Check:
    """After the sealed head only stage events may follow (notices, tasks…); no ballot-box event."""
    sealed = sealed_seq(rows)
    if sealed is None:
        return Check("after_seal", True, "not sealed (yet)", stream_id, interim=True)
    late = [row for row in rows if row["seq"] > sealed and row["type"] in BOX_EVENT_TYPES]
    if late:
        row = late[0]
        return Check("after_seal", False, f"seq {row['seq']} is a {row['type']} after the sealed head seq {sealed}; "
                     "only stage events may follow the seal", stream_id, row["seq"])
    later = sum(1 for row in rows if row["seq"] > sealed)
    return Check("after_seal", True, f"{later} stage events after the sealed head seq {sealed}", stream_id)


# ---- roll and recount ----------------------------------------------------------------------------------


def opened_payloads(rows: Sequence[Row]) -> list[tuple[int, dict[str, Any]]]:
    return [(row["seq"], row["payload"]) for row in rows if row["type"] == "BoxOpened"]


def check_roll(stream_id: str, rows: Sequence[Row], frozen: Mapping[str, list[dict[str, Any]]],
               confirmed: Mapping[int, str] | None = None) -> Check | None:
    """The roll rows recorded in ``BoxOpened`` hash to its ``roll_digest``, and equal the frozen roll.

    ``confirmed``: ``BoxOpened`` seqs whose roll the recount already validated and hashed to the stated
    digest (:attr:`Recount.rolls`); those are not validated and hashed a second time.
    """
    opened = opened_payloads(rows)
    if not opened:
        return None
    for seq, payload in opened:
        recorded = payload.get("roll", ())
        stated = payload.get("roll_digest")
        try:
            digest = confirmed[seq] if confirmed and seq in confirmed else roll_digest_of(recorded)
        except (TypeError, ValueError) as exc:
            return Check("roll", False, f"the roll in BoxOpened cannot be read: {exc}", stream_id, seq)
        if digest != stated:
            return Check("roll", False, f"the roll in BoxOpened hashes to {short(digest)}, it states "
                         f"{short(str(stated))}", stream_id, seq)
        entries = frozen.get(stated)
        if entries is not None and entries != recorded and _digest_or_none(entries) != stated:
            # (entries equal to the recorded ones hash to the digest just checked)
            return Check("roll", False, f"the frozen roll {short(stated)} in the rolls table no longer hashes to "
                         "its digest", stream_id, seq)
    return Check("roll", True, f"roll {short(opened[-1][1]['roll_digest'])} matches its digest", stream_id)


_ROOM_ENTRIES: TypeAdapter[list[RoomEntry]] = TypeAdapter(list[RoomEntry])


def roll_digest_of(entries: Any) -> str:
    """The digest of roll entries as JSON (validated as :class:`RoomEntry` in one pass; unique room ids)."""
    rooms = _ROOM_ENTRIES.validate_python(list(entries))
    check_unique_rooms(rooms)
    return entries_digest(rooms)


def _digest_or_none(entries: Any) -> str | None:
    try:
        return roll_digest_of(entries)
    except (TypeError, ValueError):
        return None


@dataclass
class Recount:
    """The results folded from the stream up to its ``ResultRecorded`` (or to its end while open)."""

    results: dict[str, Any] | None = None
    recorded: dict[str, Any] | None = None
    recorded_seq: int | None = None
    error: str | None = None
    error_seq: int | None = None
    rolls: dict[int, str] = field(default_factory=dict)
    """``BoxOpened`` seq -> roll digest, for each one the fold accepted: its recorded roll validated, its
    room ids unique, and it hashes to the digest it states (``domain.box_state`` refuses it otherwise)."""


def recount(rows: Sequence[Row]) -> Recount:
    """Fold the ballot-box events with the domain code and recompute every question's result."""
    out = Recount()
    current: list[Row] = []  # the row being folded, to name it if folding fails

    def events() -> Iterator[Event]:
        for row in rows:
            kind = row["type"]
            if kind not in BOX_EVENT_TYPES:
                continue
            current[:] = [row]
            event = event_from_dict(kind, row["payload"])
            if kind == "ResultRecorded":
                out.recorded, out.recorded_seq = row["payload"].get("results"), row["seq"]
                return
            yield event
            if kind == "BoxOpened":  # resumed: the fold applied it (it checks the roll against its digest)
                out.rolls[row["seq"]] = event.roll_digest  # type: ignore[union-attr]

    try:
        state = fold(events())  # the domain's fold: the same as evolve event by event
    except Exception as exc:  # any domain error while folding names the event
        row = current[0]
        out.error, out.error_seq = f"{row['type']} cannot be folded: {exc}", row["seq"]
        out.recorded = out.recorded_seq = None
        return out
    if state.status != "new":
        out.results = {qid: result.to_json() for qid, result in state.results().items()}
    return out


def first_difference(expected: Any, actual: Any, path: str = "") -> str | None:
    """The first path where two JSON values differ, with both values, or None when equal."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in [*expected, *(k for k in actual if k not in expected)]:  # field order: headline figures first
            found = first_difference(expected.get(key), actual.get(key), f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for index, (a, b) in enumerate(zip(expected, actual, strict=True)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if expected == actual else f"{path or '$'}: recount {_brief(expected)}, recorded {_brief(actual)}"


def _brief(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_recount(stream_id: str, rows: Sequence[Row], witnesses: Sequence[Witness],
                  counted: Recount | None = None) -> Check | None:
    """Recount from the stream (unless ``counted`` is its recount already); compare with ``ResultRecorded``
    and with the result ``seal_box`` published."""
    if not opened_payloads(rows):
        return None
    counted = recount(rows) if counted is None else counted
    if counted.error:
        return Check("recount", False, counted.error, stream_id, counted.error_seq)
    if counted.recorded is None:
        return Check("recount", True, "box not sealed: running count only, no recorded result", stream_id,
                     interim=True)
    diff = first_difference(counted.results, counted.recorded)
    if diff:
        return Check("recount", False, f"ResultRecorded at seq {counted.recorded_seq} differs — {diff}",
                     stream_id, counted.recorded_seq)
    for seal in (w for w in witnesses if w.stream_id == stream_id and w.activity == "seal_box"):
        diff = first_difference(counted.results, seal.results)
        if diff:
            return Check("recount", False, f"the result published by seal_box ({seal.where}) differs — {diff}",
                         stream_id, seal.seq)
    outcomes = ", ".join(f"{qid}: {r['outcome']}" for qid, r in (counted.results or {}).items())
    return Check("recount", True, f"recount equals the recorded and published result ({outcomes})", stream_id,
                 results=counted.results)


def stream_checks(
    stream_id: str,
    rows: Sequence[Row],
    witnesses: Sequence[Witness],
    frozen_rolls: Mapping[str, list[dict[str, Any]]],
) -> list[Check]:
    """Every check of one stream, in the order a reader wants them."""
    # The recount validates and hashes each recorded roll on its way (the fold refuses a roll that does not
    # hash to its digest): the roll check reuses that instead of doing it again.
    counted = recount(rows) if opened_payloads(rows) else None
    checks = [
        check_chain(stream_id, rows),
        check_witnesses(stream_id, rows, witnesses),
        check_sealed_head(stream_id, rows, witnesses),
        check_after_seal(stream_id, rows),
        check_roll(stream_id, rows, frozen_rolls, counted.rolls if counted else None),
        check_recount(stream_id, rows, witnesses, counted),
    ]
    return [check for check in checks if check is not None]
