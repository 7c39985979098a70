"""The audit's side of the kept histories (docs/audit.md, "Kept histories").

A run the Temporal server no longer has (deleted after the namespace's retention) is read from its kept copy
(``activities/history_store.py``): replayed, and its witnesses held against the stream, as a history from the
server would be. The ``kept_histories`` check then holds every kept copy and every published hash together:

- a kept copy's bytes hash to the SHA-256 in its name (else it was changed after it was kept);
- a kept copy of a run the server still has is the server's history, event for event;
- every hash the streams publish (a result notice's ``histories``, each ``HistoryKept``) is the hash of that run's
  history as audited, and names a run the audit found (on the server, or kept).

A failure names the run (its workflow id is the check's ``subject``) and the file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC
from pathlib import Path

from google.protobuf.json_format import MessageToDict
from temporalio.client import WorkflowHistory

from activities.history_store import (
    HistoryStore,
    history_bytes,
    parse_history,
    sha256_hex,
    status_of,
    workflow_type_of,
)
from domain.kept import PublishedHash
from yishi.services.audit_checks import Check, short
from yishi.services.audit_temporal import Run

CHECK = "kept_histories"


@dataclass(frozen=True)
class KeptCopy:
    """A kept file of one run, as read: the hash its name states and the hash of its bytes."""

    path: Path
    named: str
    actual: str
    problem: str | None = None
    """Why the file cannot be read as a history (None when it can)."""
    differs: str | None = None
    """Where it differs from the server's history of the same run (None when it does not, or the server has none)."""
    others: tuple[Path, ...] = ()
    """Further kept files of the same run (the keeper writes one)."""

    @property
    def intact(self) -> bool:
        return self.problem is None and self.named == self.actual


def _read(store: HistoryStore, workflow_id: str, run_id: str) -> tuple[KeptCopy, WorkflowHistory] | None:
    """The run's kept copy (the first intact one, if several) and its history; None when nothing is kept."""
    files = store.files(workflow_id, run_id)
    if not files:
        return None
    read = [(f, f.read()) for f in files]
    chosen, data = next(((f, d) for f, d in read if sha256_hex(d) == f.sha256), read[0])
    others = tuple(f.path for f, _ in read if f is not chosen)
    try:
        history = parse_history(workflow_id, data)
        problem = None
    except ValueError as exc:
        history, problem = WorkflowHistory(workflow_id, []), str(exc)
    return KeptCopy(chosen.path, chosen.sha256, sha256_hex(data), problem, others=others), history


def run_from_kept(store: HistoryStore, workflow_id: str, run_id: str) -> Run | None:
    """A run from its kept copy (the server has none), or None when it was never kept."""
    found = _read(store, workflow_id, run_id)
    if found is None:
        return None
    copy, history = found
    started = history.events[0].event_time.ToDatetime() if history.events else None
    return Run(workflow_id, run_id, workflow_type_of(history), status_of(history),
               started.replace(tzinfo=UTC) if started else None, history, source="kept", kept=copy)


async def with_kept_copies(store: HistoryStore, runs: Sequence[Run]) -> list[Run]:
    """``runs`` with the kept copy of each run read from the server attached (and compared with it)."""
    return await asyncio.to_thread(_attach_all, store, list(runs))


def _attach_all(store: HistoryStore, runs: list[Run]) -> list[Run]:
    out = []
    for run in runs:
        found = _read(store, run.workflow_id, run.run_id) if run.source == "temporal" else None
        if found is None:
            out.append(run)
            continue
        copy, history = found
        if copy.problem is None:
            copy = replace(copy, differs=first_difference(run.history, history))
        out.append(replace(run, kept=copy))
    return out


def first_difference(server: WorkflowHistory, kept: WorkflowHistory) -> str | None:
    """Where a kept history differs from the server's: None, or which event first differs."""
    if history_bytes(server) == history_bytes(kept):
        return None
    mine, theirs = [MessageToDict(e) for e in server.events], [MessageToDict(e) for e in kept.events]
    for index, (a, b) in enumerate(zip(mine, theirs, strict=False)):
        if a != b:
            return f"event {a.get('eventId', index + 1)} differs"
    return f"the server's history has {len(mine)} events, the kept copy {len(theirs)}"


def audited_hash(run: Run) -> str:
    """The SHA-256 of the run's history as audited: its kept copy's bytes, or the kept form of the server's."""
    return run.kept.actual if run.kept is not None else sha256_hex(history_bytes(run.history))


def _copy_problems(run: Run) -> list[str]:
    copy = run.kept
    if copy is None:
        return []
    problems = []
    if copy.problem is not None:
        problems.append(f"kept copy {copy.path} of {run.label} cannot be read: {copy.problem}")
    elif copy.named != copy.actual:
        problems.append(f"kept copy {copy.path} of {run.label}: its bytes hash to {short(copy.actual)}, its name "
                        f"says {short(copy.named)} (changed after it was kept)")
    if copy.differs is not None:
        problems.append(f"kept copy {copy.path} of {run.label} is not the server's history: {copy.differs}")
    problems += [f"a second kept copy {other} of {run.label}" for other in copy.others]
    return problems


def check_kept(deliberation_id: str, runs: Sequence[Run], published: Sequence[PublishedHash]) -> Check:
    """Every kept copy intact and equal to the server's history, every published hash that of the history the
    audit used; one check for the deliberation, naming the first run that fails."""
    problems: list[tuple[str, str]] = [(run.workflow_id, p) for run in runs for p in _copy_problems(run)]
    by_run = {(run.workflow_id, run.run_id): run for run in runs}
    for ref in published:
        run = by_run.get((ref.workflow_id, ref.run_id))
        if run is None:
            problems.append((ref.workflow_id, f"{ref.where} publishes sha256 {short(ref.sha256)} for "
                             f"{ref.workflow_id} run {ref.run_id}, which is neither on the Temporal server nor kept"))
        elif (found := audited_hash(run)) != ref.sha256:
            problems.append((run.workflow_id, f"{ref.where} publishes sha256 {short(ref.sha256)} for {run.label}, "
                             f"whose history hashes to {short(found)}"))
    if problems:
        subject, first = problems[0]
        return Check(CHECK, False, f"{first}; {len(problems)} problems with kept histories", subject)
    closed = [r for r in runs if r.status not in ("RUNNING", "UNKNOWN")]
    kept = sum(1 for r in closed if r.kept is not None)
    gone = sum(1 for r in runs if r.source == "kept")
    detail = (f"{kept} of {len(closed)} closed runs kept, {len(published)} published hashes match; {gone} runs read "
              "from their kept copy (gone from the Temporal server)")
    return Check(CHECK, True, detail, deliberation_id)
