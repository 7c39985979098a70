"""Labels of codes: the one table that turns a role, an outcome, a stage, a status… into words on a page.

``LABELS[context][code]`` is the English msgid, marked with ``C_(context, msgid)`` so ``pybabel extract`` files
it under that ``msgctxt``; :func:`label` translates it with ``pgettext``. Templates use the ``label`` filter
(``{{ task.outcome | label('outcome') }}``), Python ``tr.label(code, "outcome")``. A code missing from its table
shows as the code itself (data such as a consultation's own option ids), and the page tests fail when a code
that should have a label reaches a page raw (tests/web/test_no_raw_codes.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.errors import Label

__all__ = ["C_", "LABELS", "Label", "has_label", "label", "labels"]

if TYPE_CHECKING:
    from yishi.i18n.core import Translator


def C_(context: str, msgid: str) -> str:  # noqa: N802 - the gettext marker convention
    """Mark ``msgid`` for extraction under ``context``; returns it unchanged."""
    return msgid


LABELS: dict[str, dict[str, str]] = {
    "role": {
        "committee": C_("role", "committee (community / owners')"),
        "owners_committee": C_("role", "owners' committee"),
        "property_committee": C_("role", "property management committee"),
        "petition": C_("role", "owners' petition"),
        "grid_worker": C_("role", "grid worker"),
        "street_office": C_("role", "street office"),
        "department": C_("role", "district department"),
        "auditor": C_("role", "auditor"),
        "party_member": C_("role", "party members"),
        "residents_committee": C_("role", "residents' committee"),
        "owner_rep": C_("role", "owners' representatives"),
        "property_company": C_("role", "property company"),
        "owner": C_("role", "owner"),
        "building_head": C_("role", "building head"),
        "party_secretary": C_("role", "community party secretary"),
        "hotline": C_("role", "12345 hotline"),
    },
    "procedure": {
        "elevator": C_("procedure", "Elevator installation"),
        "property": C_("procedure", "Property company replacement"),
        "consultation": C_("procedure", "Community consultation"),
    },
    "outcome": {
        # task outcomes
        "feasible": C_("outcome", "feasible"),
        "not_feasible": C_("outcome", "not feasible"),
        "accepted": C_("outcome", "accepted"),
        "declined": C_("outcome", "declined"),
        "granted": C_("outcome", "granted"),
        "refused": C_("outcome", "refused"),
        "completed": C_("outcome", "completed"),
        "passed": C_("outcome", "passed"),
        "failed": C_("outcome", "failed"),
        "resolved": C_("outcome", "resolved"),
        "unresolved": C_("outcome", "not resolved"),
        "upheld": C_("outcome", "objection upheld"),
        "confirmed": C_("outcome", "confirmed"),
        "arranged": C_("outcome", "arranged"),
        "done": C_("outcome", "done"),
        "no_position": C_("outcome", "no position"),
        # vote and procedure outcomes
        "approved": C_("outcome", "approved"),
        "rejected": C_("outcome", "not approved"),
        "no_quorum": C_("outcome", "no quorum"),
        "company_retained": C_("outcome", "the company is retained"),
        "implemented": C_("outcome", "implemented"),
        "no_candidate": C_("outcome", "no candidate chosen"),
        "no_decision": C_("outcome", "no decision"),
        "objection_upheld": C_("outcome", "an objection was upheld"),
        "permit_refused": C_("outcome", "permit refused"),
        "replaced": C_("outcome", "the company is replaced"),
        "cancelled": C_("outcome", "cancelled"),
    },
    "result": {  # a tally's outcome, as the result lines and the console's result block word it
        "approved": C_("result", "approved"),
        "rejected": C_("result", "rejected"),
        "no_quorum": C_("result", "no quorum (the vote is void)"),
    },
    "precedence": {  # the online/paper rule of RULES.md that applied to a ballot (domain.tally.Tally.precedence)
        "online_over_paper": C_("precedence", "The online ballot prevails: your earlier paper ballot no longer "
                                              "counts (深圳市 深建规〔2020〕14号)."),
        "paper_not_counted": C_("precedence", "You have voted online: the paper ballot is recorded but does not "
                                              "count (the online ballot prevails, 深圳市 深建规〔2020〕14号)."),
    },
    "stage": {
        "initiated": C_("stage", "Started"),
        "feasibility": C_("stage", "Feasibility check"),
        "review": C_("stage", "Community review"),
        "acceptance": C_("stage", "Acceptance"),
        # The same stage name means two things: see label(…, scope=procedure).
        "elevator:acceptance": C_("stage", "Acceptance inspection"),
        "consultation:acceptance": C_("stage", "Acceptance of the issue"),
        "consultation_notice": C_("stage", "Consultation notice"),
        "meeting_notice": C_("stage", "Meeting notice"),
        "positions": C_("stage", "Positions of the parties"),
        "voting": C_("stage", "Voting"),
        "tally": C_("stage", "Counting"),
        "cost_sharing": C_("stage", "Confirming cost shares"),
        "publicity": C_("stage", "Plan posted (objections open)"),
        "result_posting": C_("stage", "Result posted"),
        "objection": C_("stage", "Objection period"),
        "permit": C_("stage", "Permit application"),
        "construction": C_("stage", "Construction"),
        "dismissal_notice": C_("stage", "Dismissal notice period"),
        "handover": C_("stage", "Hand-over"),
        "implementation": C_("stage", "Implementation"),
        "feedback": C_("stage", "Satisfaction feedback"),
        "closed": C_("stage", "Closed"),
    },
    "status": {
        # escalation tickets
        "new": C_("status", "new"),
        "assigned": C_("status", "assigned"),
        "acknowledged": C_("status", "acknowledged"),
        "info_requested": C_("status", "information requested"),
        "resolved": C_("status", "resolved"),
        "closed": C_("status", "closed"),
        "cancelled": C_("status", "cancelled"),
    },
    "level": {
        "grid": C_("level", "grid / estate party branch"),
        "community": C_("level", "community party committee"),
        "street": C_("level", "street office"),
        "department": C_("level", "district department"),
        "secretary": C_("level", "community party secretary (direct line)"),
        "part": C_("level", "joint part"),
    },
    "party_kind": {  # the party organisation chain of a grid (docs/structure.md)
        "grid_branch": C_("party_kind", "grid party branch"),
        "building_group": C_("party_kind", "building party group"),
        "member_household": C_("party_kind", "party member household"),
    },
    "dimension": {  # what the appraisal counts by (yishi/web/appraisal.py)
        "grid": C_("dimension", "per grid"),
        "worker": C_("dimension", "per grid worker"),
        "department": C_("dimension", "per department"),
        "community": C_("dimension", "per community"),
    },
    "part_status": {  # a joint ticket's part (吹哨报到)
        "open": C_("part_status", "open"),
        "done": C_("part_status", "done"),
        "released": C_("part_status", "released"),
    },
    "channel": {  # where a ticket came from
        "resident": C_("channel", "resident's complaint"),
        "grid_report": C_("channel", "grid worker's report"),
        "secretary": C_("channel", "direct line to the party secretary"),
        "hotline": C_("channel", "12345 hotline"),
        "topic": C_("channel", "topic routed by the committee"),
    },
    "org": {  # organisations by id where the id is a code; "grid:…", "committee:…", "dept:…" name themselves
        "street": C_("org", "street office"),
    },
    "category": {
        "housing": C_("category", "housing management"),
        "urban_management": C_("category", "urban management"),
        "market_regulation": C_("category", "market regulation"),
        "planning": C_("category", "planning"),
    },
    "task": {
        "feasibility": C_("task", "feasibility check"),
        "review": C_("task", "community review"),
        "acceptance": C_("task", "acceptance"),
        "permit": C_("task", "permit"),
        "construction": C_("task", "construction"),
        "mediation": C_("task", "mediation"),
        "escalation": C_("task", "escalation"),
        "handover": C_("task", "hand-over"),
        "interim_service": C_("task", "interim service"),
        "position": C_("task", "position"),
        "milestone": C_("task", "milestone"),
    },
    "handover_item": {
        "service_rooms": C_("handover_item", "service rooms"),
        "facilities_equipment": C_("handover_item", "common facilities and equipment"),
        "records_files": C_("handover_item", "records and files"),
        "funds": C_("handover_item", "prepaid fees and fund accounts"),
    },
    "choice": {
        "for": C_("choice", "For"),
        "against": C_("choice", "Against"),
        "abstain": C_("choice", "Abstain"),
    },
    "answer": {
        "satisfied": C_("answer", "Satisfied"),
        "basically_satisfied": C_("answer", "Basically satisfied"),
        "not_satisfied": C_("answer", "Not satisfied"),
    },
    "action": {
        "acknowledge": C_("action", "Acknowledge"),
        "request_info": C_("action", "Ask for information"),
        "resolve": C_("action", "Resolve (written resolution)"),
        "request_transfer": C_("action", "Request a transfer"),
        "accept_transfer": C_("action", "Accept the transfer"),
        "decline_transfer": C_("action", "Decline the transfer"),
        "provide_info": C_("action", "Provide the information"),
        "follow_up": C_("action", "Submit the rating"),
        "report_in": C_("action", "Report in"),
        "resolve_part": C_("action", "Resolve our part (written resolution)"),
        "release_part": C_("action", "Release the department from its part"),
    },
    "period": {
        "feasibility": C_("period", "Feasibility check"),
        "notice": C_("period", "Notice"),
        "voting": C_("period", "Voting"),
        "remind_before": C_("period", "Reminder before the deadline"),
        "checkpoint": C_("period", "Checkpoint interval"),
        "share_confirmation": C_("period", "Cost-share confirmation"),
        "publicity": C_("period", "Plan posting"),
        "mediation": C_("period", "Mediation of objections"),
        "escalation": C_("period", "Street office handling"),
        "permit": C_("period", "Permit application"),
        "construction": C_("period", "Construction"),
        "acceptance": C_("period", "Acceptance"),
        "elevator:acceptance": C_("period", "Acceptance inspection"),
        "consultation:acceptance": C_("period", "Acceptance of the issue"),
        "review": C_("period", "Community review"),
        "result_posting": C_("period", "Result posting"),
        "objection": C_("period", "Objection period"),
        "dismissal_notice": C_("period", "Dismissal notice"),
        "handover": C_("period", "Hand-over"),
        "interim_service": C_("period", "Interim service"),
        "positions": C_("period", "Positions of the parties"),
        "milestone": C_("period", "Milestone deadline"),
        "feedback": C_("period", "Satisfaction feedback"),
        "paper_entry": C_("period", "Paper-ballot entry after the close (eod: 24:00 of the closing day)"),
    },
    "audit_check": {
        "temporal_runs": C_("audit_check", "Temporal runs"),
        "replay": C_("audit_check", "Replay"),
        "kept_histories": C_("audit_check", "Kept histories"),
        "chain": C_("audit_check", "Hash chain"),
        "checkpoints": C_("audit_check", "Checkpoints"),
        "sealed_head": C_("audit_check", "Published head"),
        "after_seal": C_("audit_check", "After the seal"),
        "roll": C_("audit_check", "Roll"),
        "recount": C_("audit_check", "Recount"),
        "stream_head": C_("audit_check", "Stream head"),
        "tickets": C_("audit_check", "Escalation tickets"),
        "links": C_("audit_check", "Personal links"),
    },
    "audit_explain": {
        "temporal_runs": C_("audit_explain", "at least one Temporal run exists"),
        "replay": C_("audit_explain", "every run's history replays on the current code"),
        "kept_histories": C_("audit_explain", "each run's history, kept outside PostgreSQL when it closed, is intact, "
                                              "equals Temporal's and hashes to what the result notice and the "
                                              "HistoryKept events publish; once Temporal's retention deletes a "
                                              "history, the kept copy is replayed and its checkpoints checked instead"),
        "chain": C_("audit_explain", "seq has no gaps and every hash recomputes"),
        "checkpoints": C_("audit_explain", "every head a workflow recorded is in the stream with that hash"),
        "sealed_head": C_("audit_explain", "the head in the result notice is the stream's recorded result"),
        "after_seal": C_("audit_explain", "no ballot-box event after the seal"),
        "roll": C_("audit_explain", "the frozen roll matches its digest"),
        "recount": C_("audit_explain", "counting again gives exactly the published result"),
        "stream_head": C_("audit_explain", "the database's stream head is the last event"),
        "tickets": C_("audit_explain", "every escalation ticket's stream is there and checked"),
        "links": C_("audit_explain", "every online ballot's link was recorded when issued; lists reissued links, the "
                                     "ballots cast through them and every print or download"),
    },
    "audit_source": {
        "temporal": C_("audit_source", "Temporal"),
        "kept": C_("audit_source", "Kept copy"),
    },
    "account_event": {  # the accounts log (console_accounts_log.html)
        "AccountCreated": C_("account_event", "account created"),
        "AccountDisabled": C_("account_event", "account disabled"),
        "AccountEnabled": C_("account_event", "account enabled"),
        "PasswordReset": C_("account_event", "password reset by the operator"),
        "PasswordChanged": C_("account_event", "password changed by the account"),
        "SessionsEnded": C_("account_event", "sign-ins ended by the account"),
    },
}


def has_label(context: str, code: object) -> bool:
    return isinstance(code, str) and code in LABELS[context]


def label(tr: Translator, context: str, code: object, scope: str | None = None) -> str:
    """The label of ``code`` in ``context`` in the translator's language; an unknown code shows as itself.

    ``scope`` (a procedure) picks a label of its own where one code means two things (``acceptance``: the
    elevator's inspection, the consultation's acceptance of the issue)."""
    if code is None or code == "":
        return "—"
    table = LABELS[context]
    msgid = (scope is not None and table.get(f"{scope}:{code}")) or table.get(str(code))
    if msgid is None:
        return str(code)
    return tr.pgettext(context, msgid)


def labels(tr: Translator, context: str, codes: object) -> list[str]:
    return [label(tr, context, code) for code in codes]  # type: ignore[attr-defined]
