"""Every step of a topic in plain words, from its stream: the resident's tracking page and the console's topic page.

``staff=False`` (a resident's page) says what happened without who did it (no names, no accounts, no phone numbers,
no rooms); ``staff=True`` adds the acting person's name and role. Supports and comments are shown as counts and as
the thread, not as steps; capability links are never shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from activities.eventstore import StoredEvent
from yishi.i18n import Translator

QUIET = {"SupportAdded", "CommentPosted", "CapabilityIssued", "CapabilityRevoked"}


@dataclass(frozen=True)
class Step:
    at: datetime
    text: str
    note: str = ""
    by: str = ""
    warning: bool = False


def _milestone(payload: dict[str, Any], follow_ups: dict[str, list[str]]) -> str:
    names = follow_ups.get(payload.get("follow_up_id", ""), [])
    index = int(payload.get("index", 0))
    return names[index] if 0 <= index < len(names) else str(index + 1)


def _text(tr: Translator, event: StoredEvent, follow_ups: dict[str, list[str]]) -> tuple[str, str, bool]:
    """(what happened, a note in the actor's own words, whether it is a warning)."""
    p, kind = event.payload, event.type
    if kind == "TopicRaised":
        return tr.gettext("The topic was raised (%(source)s)", source=tr.label(p.get("source"), "source")), "", False
    if kind == "TakeUpAssigned":
        return tr.gettext("%(level)s must take it up by %(when)s", level=tr.label(p.get("level_key"), "level"),
                          when=tr.when(p.get("due_at"))), "", False
    if kind == "TakeUpDeadlineMissed":
        if p.get("escalated_to"):
            return tr.gettext("Not taken up in time by %(level)s: it went up to %(next)s",
                              level=tr.label(p.get("level_key"), "level"),
                              next=tr.label(p.get("escalated_to"), "level")), "", True
        return tr.gettext("Not taken up in time by %(level)s", level=tr.label(p.get("level_key"), "level")), "", True
    if kind == "TopicTaken":
        text = (tr.gettext("The committee took it up (after the deadline)") if p.get("late")
                else tr.gettext("The committee took it up"))
        return text, p.get("note", ""), False
    if kind == "TopicDeclined":
        return tr.gettext("The committee declined it. Reason: %(reason)s", reason=p.get("reason", "")), "", True
    if kind == "TopicMerged":
        return tr.gettext("Merged into another topic about the same thing; its supporters were carried over"), \
            p.get("note", ""), False
    if kind == "SupportersMerged":
        return tr.ngettext("A duplicate topic was merged into this one: %(num)s supporter joined",
                           "A duplicate topic was merged into this one: %(num)s supporters joined",
                           len(p.get("supporters", []))), "", False
    if kind == "TopicRouted":
        if p.get("target") == "ladder":
            return tr.gettext("Handed to the departments through the escalation ladder (%(category)s)",
                              category=tr.label(p.get("category"), "category")), p.get("note", ""), False
        return tr.gettext("A procedure was started for it"), p.get("note", ""), False
    if kind == "RouteEnded":
        return tr.gettext("What it was handed to ended without settling it; it is back with the committee"), \
            p.get("note", ""), True
    if kind == "TopicScheduled":
        return tr.gettext("Put on the agenda of a community meeting"), "", False
    if kind == "TopicDecided":
        decision = p.get("decision", {})
        return tr.gettext("The meeting decided: %(kind)s", kind=tr.label(decision.get("kind"), "decision")), \
            decision.get("summary", ""), False
    if kind == "TopicVoteCounted":
        approved = p.get("approved")
        text = (tr.gettext("The vote was counted: passed") if approved else
                tr.gettext("The vote was counted: not passed") if approved is False else
                tr.gettext("The vote was counted"))
        return text, "", False
    if kind == "FollowUpOpened":
        names = [m.get("name", "") for m in p.get("milestones", [])]
        follow_ups[p.get("follow_up_id", "")] = names
        joined = ("、" if tr.code.startswith("zh") else ", ").join(names)
        return tr.gettext("Work to do, with dates: %(names)s", names=joined), "", False
    if kind == "MilestoneDone":
        return tr.gettext("Done: %(name)s", name=_milestone(p, follow_ups)), p.get("note", ""), False
    if kind == "MilestoneMissed":
        return tr.gettext("Not done by its date: %(name)s", name=_milestone(p, follow_ups)), "", True
    if kind == "TopicResolved":
        return tr.gettext("The work is done"), p.get("resolution", ""), False
    if kind == "FeedbackRequested":
        return tr.gettext("Everyone who raised or supported it is asked how satisfied they are, until %(when)s",
                          when=tr.when(p.get("due_at"))), "", False
    if kind == "FeedbackGiven":
        return tr.gettext("Feedback: %(answer)s", answer=tr.label(p.get("answer"), "answer")), "", False
    if kind == "TopicReopened":
        return tr.gettext("Reopened: the proposer was not satisfied"), "", True
    if kind == "TopicClosed":
        return tr.gettext("Closed"), "", False
    if kind == "CommentHidden":
        return tr.gettext("The committee hid a comment. Reason: %(reason)s", reason=p.get("reason", "")), "", False
    return tr.gettext("Recorded"), "", False


def _by(tr: Translator, payload: dict[str, Any]) -> str:
    by = payload.get("by")
    if not isinstance(by, dict) or not by.get("name"):
        return ""
    return f"{by['name']}（{tr.label(by.get('kind'), 'actor')}）"


def topic_steps(tr: Translator, events: list[StoredEvent], *, staff: bool = False) -> list[Step]:
    """The topic's steps, oldest first, in the translator's language."""
    steps: list[Step] = []
    follow_ups: dict[str, list[str]] = {}
    for event in events:
        if event.type in QUIET:
            continue
        text, note, warning = _text(tr, event, follow_ups)
        steps.append(Step(event.occurred_at, text, note, _by(tr, event.payload) if staff else "", warning))
    return steps
