"""What the fault suite counts, and the facts in a stream (a deliberation's or an escalation ticket's) that must
never appear twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Event type -> the payload fields that identify one fact. Two events with the same identity are the
# same fact recorded twice: a notice sent twice, a task opened twice, a vote counted twice.
FACT_IDENTITY: dict[str, tuple[str, ...]] = {
    "ProcedureStarted": (),
    "ProcedureClosed": (),
    "BoxOpened": (),
    "BoxSealed": (),
    "ResultRecorded": (),
    "NoticePublished": ("notice_id",),
    "NoticeDelivered": ("notice_id", "channel", "group"),
    "NoticeQueued": ("notice_id", "channel"),
    "NoticePosted": ("notice_id", "group"),
    "DocumentAttached": ("sha256",),
    "TaskOpened": ("task_id",),
    "TaskCompleted": ("task_id",),
    "TaskOverdue": ("task_id",),
    "VoteRoundOpened": ("round",),
    "VoteCounted": ("round",),
    "DoorKnockListIssued": ("list_id",),
    "CostPlanProposed": ("plan_id",),
    "ObjectionFiled": ("objection_id",),
    "EscalationPlaceholderOpened": ("subject",),  # histories recorded before the escalation workflow
    "EscalationStarted": ("subject",),
    "EscalationResolved": ("task_id",),
    # The ticket's own stream (``<deliberation>/esc-<subject>``): one opening, one assignment per number,
    # one missed deadline per assignment and kind, one move up per pair of levels, one close.
    "EscalationOpened": (),
    "LevelAssigned": ("n",),
    "DeadlineMissed": ("n", "deadline"),
    "Escalated": ("from_level", "to_level"),
    "Closed": (),
    "Cancelled": (),
}


def duplicate_facts(events: Iterable[Any]) -> list[str]:
    """Every fact recorded more than once in a stream, as ``Type(field=value) x N``."""
    seen: Counter[tuple[str, tuple[Any, ...]]] = Counter()
    for event in events:
        fields = FACT_IDENTITY.get(event.type)
        if fields is None:
            continue
        seen[(event.type, tuple(event.payload.get(f) for f in fields))] += 1
    return [f"{kind}({', '.join(map(str, ident))}) x{n}" for (kind, ident), n in seen.items() if n > 1]


@dataclass
class Report:
    """Running totals of one fault-suite run; ``line()`` is the summary the suite ends with."""

    faults: int = 0
    accepted: int = 0
    found: int = 0
    lost: int = 0
    duplicated: int = 0
    bad_inputs: int = 0
    server_errors: int = 0
    attacks: int = 0
    """Attacks by hostile staff, residents or outsiders tried against the stack (issue 17); each must do no harm."""
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scenarios: dict[str, dict[str, Any]] = field(default_factory=dict)

    def check(self, ok: bool, what: str) -> bool:
        """Record a scenario's own assertion; a false one fails the run."""
        if not ok:
            self.failures.append(what)
        return ok

    def line(self) -> str:
        return (f"faults injected: {self.faults}, ballots accepted: {self.accepted}, ballots found: {self.found}, "
                f"lost: {self.lost}, duplicated: {self.duplicated}, bad inputs: {self.bad_inputs}, "
                f"server errors: {self.server_errors}, attacks: {self.attacks}")

    @property
    def ok(self) -> bool:
        return not self.failures and self.lost == 0 and self.duplicated == 0 and self.server_errors == 0

    def as_json(self) -> dict[str, Any]:
        return {"faults_injected": self.faults, "ballots_accepted": self.accepted, "ballots_found": self.found,
                "lost": self.lost, "duplicated": self.duplicated, "bad_inputs": self.bad_inputs,
                "server_errors": self.server_errors, "attacks": self.attacks, "ok": self.ok, "failures": self.failures,
                "scenarios": self.scenarios, "summary": self.line()}
