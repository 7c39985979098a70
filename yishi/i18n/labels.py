"""Labels of codes: the one table that turns a role, an outcome, a stage, a status… into words on a page.

``LABELS[context][code]`` is the English msgid, marked with ``C_(context, msgid)`` so ``pybabel extract`` files
it under that ``msgctxt``; :func:`label` translates it with ``pgettext``. Templates use the ``label`` filter
(``{{ task.outcome | label('outcome') }}``), Python ``tr.label(code, "outcome")``. A code missing from its table
shows as the code itself (data such as a consultation's own option ids), and the page tests fail when a code
that should have a label reaches a page raw (tests/web/test_no_raw_codes.py).
"""

from __future__ import annotations

import re
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
    "precedence": {  # the rule of RULES.md that applied to a ballot (domain.tally.Tally.precedence)
        "online_over_paper": C_("precedence", "The online ballot prevails: your earlier paper ballot no longer "
                                              "counts (深圳市 深建规〔2020〕14号)."),
        "paper_not_counted": C_("precedence", "You have voted online: the paper ballot is recorded but does not "
                                              "count (the online ballot prevails, 深圳市 深建规〔2020〕14号)."),
        "owner_over_proxy": C_("precedence", "Your own ballot counts: the ballot your proxy cast for you no longer "
                                             "counts (the owner's own ballot prevails)."),
        "proxy_not_counted": C_("precedence", "The owner has already voted herself: this ballot is recorded but does "
                                              "not count (the owner's own ballot prevails)."),
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
    "party_kind": {  # the party organisation chain of a grid (docs/structure.md), a meeting's invited parties
        "grid_branch": C_("party_kind", "grid party branch"),
        "building_group": C_("party_kind", "building party group"),
        "member_household": C_("party_kind", "party member household"),
        "party_member": C_("party_kind", "party member"),
        "residents_committee": C_("party_kind", "residents' committee"),
        "owner_rep": C_("party_kind", "owners' representative"),
        "property_company": C_("party_kind", "property company"),
        "department": C_("party_kind", "government department"),
    },
    "dimension": {  # what the appraisal counts by (yishi/web/appraisal.py)
        "grid": C_("dimension", "per grid"),
        "worker": C_("dimension", "per grid worker"),
        "department": C_("dimension", "per department"),
        "community": C_("dimension", "per community"),
        "channel": C_("dimension", "per channel (how tickets came in)"),
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
        # how a notice went out (NoticeDelivered.channel), in a ticket's history
        "print": C_("channel", "printed sheet"),
        "webhook": C_("channel", "SMS / WeChat gateway"),
        "email": C_("channel", "e-mail"),
        "log": C_("channel", "system log"),
        "org-webhook": C_("channel", "the organisation's system"),
    },
    "org": {  # organisations by id where the id is a code; "grid:…", "committee:…", "dept:…": ORG_KINDS below
        "street": C_("org", "street office"),
    },
    "document": {  # what a matter's document is (DocumentAttached.kind)
        "plan": C_("document", "plan"),
        "cost_table": C_("document", "cost table"),
    },
    "assign_reason": {  # why a level got a ticket (LevelAssigned.reason), in the ticket's history
        "opened": C_("assign_reason", "Opened"),
        "escalated": C_("assign_reason", "Passed up"),
        "transferred": C_("assign_reason", "Transferred"),
        "reopened": C_("assign_reason", "Reopened"),
    },
    "deadline_kind": {  # which deadline a level missed (DeadlineMissed.deadline)
        "acknowledge": C_("deadline_kind", "acknowledge"),
        "resolve": C_("deadline_kind", "resolve"),
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
        "paper_entry": C_("period", "Paper-ballot entry after the close"),
    },
    "period_unit": {  # how the start form counts a period (domain/period_input.py)
        "days": C_("period_unit", "days"),
        "wd": C_("period_unit", "working days"),
        "date": C_("period_unit", "until a date"),
        "hours": C_("period_unit", "hours"),
        "eod": C_("period_unit", "until 24:00 of the closing day"),
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
        "meeting": C_("audit_check", "Meeting record"),
        "postings": C_("audit_check", "Posted notices"),
        "documents": C_("audit_check", "Documents for the owners"),
        "attachments": C_("audit_check", "Ticket attachments"),
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
        "meeting": C_("audit_explain", "every meeting event reads and folds, and the record holds together (positions, "
                                       "attendance and confirmations through links that were issued)"),
        "postings": C_("audit_explain", "the photo of every printed notice recorded as posted is kept and matches the "
                                        "hash in the chain"),
        "documents": C_("audit_explain", "every document attached for the owners (the plan, the cost table) is kept "
                                         "and matches the hash in the chain"),
        "attachments": C_("audit_explain", "every file attached to an escalation ticket and kept here matches the "
                                           "hash in the chain"),
    },
    "topic_status": {  # a topic's status (domain/topic_state.py)
        "new": C_("topic_status", "not raised"),
        "raised": C_("topic_status", "waiting to be taken up"),
        "taken": C_("topic_status", "taken up"),
        "scheduled": C_("topic_status", "on a meeting's agenda"),
        "decided": C_("topic_status", "decided"),
        "voting": C_("topic_status", "being voted on"),
        "following_up": C_("topic_status", "being carried out"),
        "routed": C_("topic_status", "handed on"),
        "resolved": C_("topic_status", "done, feedback asked"),
        "declined": C_("topic_status", "declined"),
        "merged": C_("topic_status", "merged into another topic"),
        "closed": C_("topic_status", "closed"),
    },
    "actor": {  # who acts on a topic (domain/topic_events.py Actor.kind)
        "committee": C_("actor", "community committee"),
        "grid_worker": C_("actor", "grid worker"),
        "party_member": C_("actor", "party member"),
        "street_office": C_("actor", "street office"),
        "resident": C_("actor", "resident"),
        "party": C_("actor", "invited party"),
        "system": C_("actor", "the system"),
    },
    "raiser": {  # who raised a topic, who supports or comments (domain/topic_events.py RaiserKind)
        "resident": C_("raiser", "resident"),
        "owner": C_("raiser", "owner"),
        "tenant": C_("raiser", "tenant"),
        "grid_worker": C_("raiser", "grid worker"),
        "party_member": C_("raiser", "party member"),
        "committee": C_("raiser", "community committee"),
    },
    "source": {  # how a topic was raised
        "intake": C_("source", "community QR code"),
        "owner_link": C_("source", "owner's personal link"),
        "console": C_("source", "console"),
    },
    "decision": {  # a meeting's decision on a topic
        "consensus": C_("decision", "agreed by consensus"),
        "vote": C_("decision", "put to a vote"),
        "escalated": C_("decision", "escalated (吹哨)"),
        "deferred": C_("decision", "deferred to the next meeting"),
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
    # ---- meetings (议事会; docs/meetings.md) ----
    "meeting_kind": {
        "council": C_("meeting_kind", "Council meeting"),
        "weekend_hall": C_("meeting_kind", "Weekend Hall"),
        "seven_pm": C_("meeting_kind", "Seven O'Clock Residents' Hour"),
    },
    "meeting_status": {
        "none": C_("meeting_status", "not scheduled"),
        "scheduled": C_("meeting_status", "scheduled"),
        "held": C_("meeting_status", "held, minutes awaiting confirmation"),
        "published": C_("meeting_status", "minutes published"),
        "cancelled": C_("meeting_status", "cancelled"),
    },
    "via": {
        "link": C_("via", "own invitation link"),
        "door": C_("via", "QR code at the door"),
        "clerk": C_("via", "recorded by the clerk"),
    },
    "vote_reason": {
        "winner": C_("vote_reason", "an option was chosen"),
        "tie": C_("vote_reason", "tie: no option chosen"),
        "none": C_("vote_reason", "no option reached the majority"),
        "approved": C_("vote_reason", "approved"),
        "rejected": C_("vote_reason", "not approved"),
    },
    "delivery": {  # a notice delivery's state (notice_deliveries.state; the delivery board)
        "queued": C_("delivery", "waiting to be sent"),
        "sending": C_("delivery", "sending"),
        "sent": C_("delivery", "sent"),
        "failed": C_("delivery", "failed"),
        "held": C_("delivery", "held for the quiet hours"),
        "to_post": C_("delivery", "to be posted"),
        "posted": C_("delivery", "posted"),
    },
    "channel_kind": {  # domain/channel_config.py Kind, and print
        "wecom": C_("channel_kind", "WeCom group robot"),
        "dingtalk": C_("channel_kind", "DingTalk group robot"),
        "sms": C_("channel_kind", "text message (SMS)"),
        "webhook": C_("channel_kind", "webhook"),
        "email": C_("channel_kind", "e-mail"),
        "log": C_("channel_kind", "server log"),
        "print": C_("channel_kind", "printed sheet"),
    },
    "notice_kind": {  # NoticePublished.kind
        "announcement": C_("notice_kind", "announcement"),
        "meeting": C_("notice_kind", "meeting notice"),
        "consultation": C_("notice_kind", "consultation notice"),
        "objection": C_("notice_kind", "public notice"),
        "publicity": C_("notice_kind", "public notice"),
        "reminder": C_("notice_kind", "voting reminder"),
        "result": C_("notice_kind", "result"),
        "minutes": C_("notice_kind", "minutes"),
        "cost_plan": C_("notice_kind", "cost-sharing plan"),
        "feedback": C_("notice_kind", "satisfaction feedback"),
        "dismissal": C_("notice_kind", "notice of dismissal"),
    },
    "parent_kind": {  # what a ticket came from (yishi/web/ticket_parent.py)
        "topic": C_("parent_kind", "from the topic"),
        "meeting": C_("parent_kind", "from the meeting"),
        "deliberation": C_("parent_kind", "from the vote or procedure"),
    },
}

from yishi.i18n.labels_points import POINTS_LABELS  # noqa: E402 - the table above, then its issue-20 contexts

LABELS.update(POINTS_LABELS)


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
        return org_label(tr, str(code)) if context == "org" else str(code)
    return tr.pgettext(context, msgid)


ORG_KINDS = {  # the kind of an organisation by its id's prefix ("grid:<community>[:<grid>]", "dept:urban"…)
    "grid": C_("org", "grid"),
    "committee": C_("org", "community committee"),
    "secretary": C_("org", "community party secretary"),
    "street": C_("org", "street office"),
    "hotline": C_("org", "12345 hotline"),
    "dept": C_("org", "department"),
}


def org_label(tr: Translator, code: str) -> str:
    """An organisation's name for an id no table names: a default department by its name, else its kind and the
    rest of the id as a place (``grid:幸福社区:g01`` → 网格（幸福社区 g01）), never the id itself."""
    from domain.escalation import DEFAULT_DEPARTMENTS

    for dept in DEFAULT_DEPARTMENTS.values():
        if dept.org == code:
            return dept.name_en if tr.code == "en" else dept.name_zh
    kind, _, rest = code.partition(":")
    if kind not in ORG_KINDS or not rest:
        return code
    name, place = tr.pgettext("org", ORG_KINDS[kind]), rest.replace(":", " ")
    return f"{name} ({place})" if tr.code == "en" else f"{name}（{place}）"


ORG_ID = re.compile(r"(?<![\w/.:=-])(?:" + "|".join(ORG_KINDS) + r"):[^\s：，。、；（）(),;]*[^\s：，。、；（）(),;:.]")


def orgs_named(tr: Translator, text: object, names: dict[str, str] | None = None) -> str:
    """``text`` with every organisation id in it (``dept:housing：已处理``, as a joint ticket's resolution joins its
    parts) replaced by the organisation's name: from ``names`` (a community's ladder) or :func:`org_label`."""
    return ORG_ID.sub(lambda m: (names or {}).get(m.group()) or org_label(tr, m.group()), str(text))


def labels(tr: Translator, context: str, codes: object) -> list[str]:
    return [label(tr, context, code) for code in codes]  # type: ignore[attr-defined]
