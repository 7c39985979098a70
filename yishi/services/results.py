"""The published result of a deliberation (公示), from its stream: what every surface shows.

:func:`summaries` folds the current round's ballot box and hands the sealed tally (the ``ResultRecorded`` event's,
the one the workflow published) or the count so far to :func:`domain.result_summary.summarize`. ``yishi status``,
the console, the resident's page, the printed 公示 sheet, the public page and the audit export call this and
nothing else, so their figures are the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from activities.box import load_box
from activities.eventstore import EventStore
from domain.box_state import BoxState, fold
from domain.events import EVENT_TYPES, event_from_dict
from domain.result_summary import ResultSummary, summarize
from domain.rules import get_rule

PUBLIC_PATH = "/p/"
"""The public page of a deliberation: ``{public_base_url}/p/{deliberation_id}`` (no sign-in, no names)."""


def public_url(base_url: str, deliberation_id: str) -> str:
    return f"{base_url.rstrip('/')}{PUBLIC_PATH}{deliberation_id}"


async def box_stream_of(store: EventStore, deliberation_id: str) -> str:
    """The stream of the deliberation's current ballot box: the last round's (a procedure), else its own."""
    rounds = await store.read_types(deliberation_id, ["VoteRoundOpened"])
    return rounds[-1].payload["box_stream"] if rounds else deliberation_id


def of_state(state: BoxState, head: tuple[int, str] | None) -> list[ResultSummary]:
    """Each question's summary: the recorded (sealed) result with ``head`` its ``ResultRecorded`` event, or the
    count so far."""
    opened = state.opened
    if opened is None:
        return []
    rule = get_rule(opened.rule_id)
    recorded = state.recorded.results if state.recorded is not None else None
    out = []
    for question in opened.questions:
        tally = state.tally(question.id)
        result = recorded[question.id] if recorded is not None else tally.result()
        out.append(summarize(result, rule, question_id=question.id, sealed=recorded is not None,
                             by_channel=tally.by_channel(), head=head if recorded is not None else None))
    return out


async def summaries(store: EventStore, deliberation_id: str) -> list[ResultSummary]:
    """The result summaries of the deliberation's current ballot box (none before it opens)."""
    stream = await box_stream_of(store, deliberation_id)
    state, _ = await load_box(store, stream)
    head = None
    if state.recorded is not None:
        last = (await store.read_types(stream, ["ResultRecorded"]))[-1]
        head = (last.seq, last.hash)
    return of_state(state, head)


def summaries_of_rows(rows: Iterable[Mapping[str, Any]]) -> list[ResultSummary]:
    """The same from exported rows (``{seq, hash, type, payload}``) of one box stream: the audit export."""
    events, head = [], None
    for row in rows:
        if row["type"] in EVENT_TYPES:
            events.append(event_from_dict(row["type"], row["payload"]))
            if row["type"] == "ResultRecorded":
                head = (row["seq"], row["hash"])
    return of_state(fold(events), head) if events else []
