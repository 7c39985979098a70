"""Which tally decides a procedure's vote, and how the result notice words it (used by ``_vote`` and
``_result_notice`` in :mod:`workflows.common`).

docs/rules.md (and RULES.md, *Silent owners*): with silent-owner deeming on and applied, the deemed tally decides
(``TallyResult.effective_outcome``); when it does not apply the ballots cast decide and the result says why. The
procedures branch on :class:`Decision`, which gives the outcome, the approval and each question's result by the
deciding tally, while the recorded results (``ProcedureState.results``) keep both tallies for the notice.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.box import SealOutcome
    from domain.result_text import describe
    from domain.tally_result import TallyResult

# Patch: the procedures branch on the tally the rules name (the deemed one when deeming applied), VoteCounted records
# both, and the result notice gives both tallies. Histories from before it branched on the ballots cast, whatever
# deeming said (tests/histories/elevator.json, property.json, consultation.json and every other procedure history
# recorded before it; tests/histories/elevator_deemed.json is recorded after it).
DEEMED_TALLY_DECIDES = "deemed-tally-decides"
# Patch: a vote round's box gets a paper-entry window after the close (period ``paper_entry``, 24:00 of the closing
# day by default) and seals when it ends. Histories from before it opened boxes that sealed at the close (the same
# procedure histories as above; tests/histories/elevator_deemed.json has the window).
PAPER_ENTRY_WINDOW = "vote-paper-entry-window"
# Patch: once a round's ballot box has closed, its histories are kept outside PostgreSQL (activity keep_histories)
# and the result notice publishes their hashes (NoticePublished.histories). Histories from before it count the round
# and post the notice without (every procedure history above; tests/histories/elevator_kept_history.json has it).
KEEP_BOX_HISTORY = "keep-box-history"


class Decision:
    """A sealed vote as a procedure branches on it.

    ``rule_decides`` False (histories from before the patch): exactly the box's ``SealOutcome`` (ballots cast).
    True: each question's result is its deciding tally (:meth:`TallyResult.decided`), the main question's outcome
    and approval those of its deciding tally.
    """

    def __init__(self, sealed: SealOutcome, rule_decides: bool) -> None:
        self.sealed = sealed
        self.rule_decides = rule_decides
        self.results: dict[str, dict[str, Any]] = sealed.results
        self.outcome, self.approved = sealed.outcome, sealed.approved
        self._deemed: tuple[str, ...] = ()
        if rule_decides:
            tallies = {q: TallyResult.model_validate(r) for q, r in sealed.results.items()}
            self.results = {q: t.decided().to_json() for q, t in tallies.items()}
            main = self.results.get("main") or next(iter(self.results.values()))
            self.outcome, self.approved = main["outcome"], main["approved"]
            self._deemed = tuple(q for q, t in tallies.items() if t.deemed)

    @classmethod
    def of(cls, sealed: SealOutcome, *, rule_decides: bool) -> Decision:
        return cls(sealed, rule_decides)

    def counted(self) -> dict[str, Any]:
        """The fields ``VoteCounted`` gained with the patch: each question's deciding outcome, and where deeming
        applied (nothing for rounds counted before it)."""
        if not self.rule_decides:
            return {}
        return {"decided": {q: r["outcome"] for q, r in self.results.items()}, "deemed": self._deemed}


def result_lines(results: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """One line per question, in Chinese and in English: the ballots cast, the deemed tally, what decides."""
    tallies = {q: TallyResult.model_validate(r) for q, r in results.items()}
    zh = "\n".join(f"{q}：{describe(t, 'zh')}" for q, t in tallies.items())
    en = "\n".join(f"{q}: {describe(t, 'en')}" for q, t in tallies.items())
    return zh, en
