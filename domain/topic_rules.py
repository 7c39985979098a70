"""What each topic command checks and the events it returns; one function per command kind (pure).

Refusals say what to do next (:class:`domain.topic_commands.TopicError`: a msgid and its fields). A command
retried after it took effect returns ``[]`` (a double tap, an activity re-run), never a second event.
"""

from __future__ import annotations

from domain.errors import N_
from domain.legal_calendar import BEIJING
from domain.topic_checks import bounded, by_staff, in_status, not_finished
from domain.topic_closing import (
    close_feedback,
    complete_milestone,
    give_feedback,
    lapse_milestones,
    resolve,
    route_outcome,
)
from domain.topic_commands import (
    MAX_COMMENT,
    MAX_DESCRIPTION,
    MAX_REASON,
    MAX_TITLE,
    ROUTERS,
    STAFF,
    Absorb,
    AssignTakeUp,
    Comment,
    Decide,
    Decline,
    HideComment,
    LapseTakeUp,
    Merge,
    Raise,
    Route,
    Schedule,
    Support,
    Take,
    TopicError,
)
from domain.topic_events import (
    CommentHidden,
    CommentPosted,
    FollowUpOpened,
    Milestone,
    SupportAdded,
    SupportersMerged,
    TakeUpAssigned,
    TakeUpDeadlineMissed,
    TopicDecided,
    TopicDeclined,
    TopicEvent,
    TopicMerged,
    TopicRouted,
    TopicScheduled,
    TopicTaken,
)
from domain.topic_state import Topic, milestone_deadline


def raise_(t: Topic, c: Raise) -> list[TopicEvent]:
    if t.topic_id:
        if t.topic_id == c.event.topic_id:
            return []  # the same form sent twice
        raise TopicError(N_("this topic id is taken"))
    e = c.event
    title = bounded(e.title, MAX_TITLE, N_("the title"))
    description = bounded(e.description, MAX_DESCRIPTION, N_("the description"))
    return [e.model_copy(update={"title": title, "description": description})]


def assign_take_up(t: Topic, c: AssignTakeUp) -> list[TopicEvent]:
    if t.take_up is not None:
        return []
    in_status(t, ("raised",), N_("assign who takes it up"))
    lv = c.target
    return [TakeUpAssigned(at=c.at, level=c.level, level_key=lv.key, org=lv.org, roles=lv.roles, due_at=c.due_at,
                           reason="raised", fallback_years=c.fallback_years)]


def lapse_take_up(t: Topic, c: LapseTakeUp) -> list[TopicEvent]:
    """Nothing when the topic was taken, or the deadline has not passed, or its miss is recorded already."""
    a = t.take_up
    if t.status != "raised" or a is None or c.at < a.due_at or a.level_key in t.take_up_missed:
        return []
    nxt = c.next
    missed = TakeUpDeadlineMissed(at=c.at, level_key=a.level_key, org=a.org, due_at=a.due_at,
                                  escalated_to=nxt.org if nxt else None)
    if nxt is None or c.next_due is None:
        return [missed]  # the top level: recorded and shown overdue; the topic stays there
    return [missed, TakeUpAssigned(at=c.at, level=a.level + 1, level_key=nxt.key, org=nxt.org, roles=nxt.roles,
                                   due_at=c.next_due, reason="escalated", fallback_years=c.next_fallback_years)]


def support(t: Topic, c: Support) -> list[TopicEvent]:
    not_finished(t, N_("support it"))
    if c.supporter == t.proposer_id or c.supporter in t.supporters:
        return []  # one support per person: joining twice changes nothing
    return [SupportAdded(at=c.at, supporter=c.supporter, kind=c.supporter_kind)]


def comment(t: Topic, c: Comment) -> list[TopicEvent]:
    not_finished(t, N_("comment on it"))
    if any(x.comment_id == c.comment_id for x in t.comments):
        return []
    text = bounded(c.text, MAX_COMMENT, N_("the comment"))
    return [CommentPosted(at=c.at, comment_id=c.comment_id, author=c.author, author_kind=c.author_kind, text=text)]


def hide_comment(t: Topic, c: HideComment) -> list[TopicEvent]:
    by_staff(t, c.by, ROUTERS | {"grid_worker"}, N_("hide a comment"))
    found = next((x for x in t.comments if x.comment_id == c.comment_id), None)
    if found is None:
        raise TopicError(N_("topic %(topic)s has no comment %(comment)s"), topic=t.topic_id, comment=c.comment_id)
    if found.hidden_reason is not None:
        return []
    reason = bounded(c.reason, MAX_REASON, N_("the reason for hiding it"))
    return [CommentHidden(at=c.at, comment_id=c.comment_id, reason=reason, by=c.by)]


def take(t: Topic, c: Take) -> list[TopicEvent]:
    if t.status == "taken" and t.taken_by == c.by.name:
        return []
    in_status(t, ("raised",), N_("take it up"))
    roles = set(t.take_up.roles if t.take_up else ()) | {"committee"}
    by_staff(t, c.by, roles, N_("take it up"))
    late = bool(t.take_up_missed) or (t.take_up is not None and c.at >= t.take_up.due_at)
    return [TopicTaken(at=c.at, by=c.by, note=c.note.strip()[:MAX_REASON], late=late)]


def decline(t: Topic, c: Decline) -> list[TopicEvent]:
    if t.status == "declined":
        return []
    in_status(t, ("raised",), N_("decline it"))
    by_staff(t, c.by, set(t.take_up.roles if t.take_up else ()) | {"committee"}, N_("decline it"))
    reason = bounded(c.reason, MAX_REASON, N_("the reason for declining (the proposer sees it)"))
    return [TopicDeclined(at=c.at, by=c.by, reason=reason)]


def merge(t: Topic, c: Merge) -> list[TopicEvent]:
    if t.status == "merged" and t.merged_into == c.into:
        return []
    if c.into == t.topic_id:
        raise TopicError(N_("a topic cannot be merged into itself"))
    in_status(t, ("raised", "taken"), N_("merge it"))
    by_staff(t, c.by, ROUTERS, N_("merge topics"))
    carried = (t.proposer_id, *t.supporters) if t.proposer_id else t.supporters
    return [TopicMerged(at=c.at, into=c.into, by=c.by, supporters=tuple(carried), note=c.note.strip()[:MAX_REASON])]


def absorb(t: Topic, c: Absorb) -> list[TopicEvent]:
    if c.from_topic in t.merged_from:
        return []
    not_finished(t, N_("merge a duplicate into it"))
    by_staff(t, c.by, ROUTERS, N_("merge topics"))
    return [SupportersMerged(at=c.at, from_topic=c.from_topic, supporters=c.supporters, by=c.by)]


def route(t: Topic, c: Route) -> list[TopicEvent]:
    if t.awaiting is not None and t.awaiting.stream == c.stream:
        return []
    in_status(t, ("raised", "taken", "decided", "following_up"), N_("route it"))
    by_staff(t, c.by, ROUTERS, N_("route it (to the ladder or a procedure)"))
    if not c.stream.strip():
        raise TopicError(N_("the ticket or deliberation id is missing"))
    ticket, deliberation = (c.stream, None) if c.target == "ladder" else (None, c.stream)
    return [TopicRouted(at=c.at, target=c.target, ticket_id=ticket, deliberation_id=deliberation,
                        category=c.category, by=c.by, note=c.note.strip()[:MAX_REASON])]


def schedule(t: Topic, c: Schedule) -> list[TopicEvent]:
    slot = (c.meeting_id, c.item_id)
    if t.scheduled == slot:
        return []
    if t.status == "scheduled" and t.scheduled is not None:
        raise TopicError(N_("topic %(topic)s is on the agenda of meeting %(meeting)s; decide or defer it there first"),
                         topic=t.topic_id, meeting=t.scheduled[0])
    in_status(t, ("taken", "decided"), N_("put it on an agenda (take it up first)"))
    by_staff(t, c.by, STAFF, N_("put it on an agenda"))
    return [TopicScheduled(at=c.at, meeting_id=c.meeting_id, item_id=c.item_id, by=c.by)]


def _decision_problems(c: Decide) -> None:
    d = c.decision
    bounded(d.summary, MAX_DESCRIPTION, N_("the decision"))
    if d.kind == "vote" and not d.vote_deliberation_id:
        raise TopicError(N_("a decision put to a vote needs the vote's deliberation id"))
    if d.kind == "escalated" and not d.ticket_id:
        raise TopicError(N_("an escalated decision needs the ticket id"))
    if d.kind == "consensus" and (d.milestones or d.due) and not (d.owner or "").strip():
        raise TopicError(N_("a decision with a deadline needs an owner (who does it)"))
    today = c.at.astimezone(BEIJING).date()
    for m in (*d.milestones, *((Milestone(name=d.summary, due=d.due),) if d.due else ())):
        if m.due < today:
            raise TopicError(N_("milestone '%(name)s' is due %(due)s, before the meeting (%(today)s); correct it"),
                             name=m.name, due=m.due.isoformat(), today=today.isoformat())


def decide_(t: Topic, c: Decide) -> list[TopicEvent]:
    d = c.decision
    if d in t.decisions and t.decisions[-1] == d:
        return []
    in_status(t, ("scheduled",), N_("record a decision (put it on an agenda first)"))
    if t.scheduled != (d.meeting_id, d.item_id):
        meeting, item = t.scheduled or ("", "")
        raise TopicError(N_("the topic is item %(item)s of meeting %(meeting)s, not item %(other_item)s of "
                            "%(other_meeting)s"), item=item, meeting=meeting, other_item=d.item_id,
                         other_meeting=d.meeting_id)
    by_staff(t, c.by, STAFF, N_("record a decision"))
    _decision_problems(c)
    events: list[TopicEvent] = [TopicDecided(at=c.at, decision=d, by=c.by)]
    if d.kind == "consensus" and d.owner and (d.milestones or d.due):
        milestones = d.milestones or (Milestone(name=d.summary.strip()[:MAX_TITLE], due=d.due),)  # type: ignore[arg-type]
        dues = tuple(milestone_deadline(m.due) for m in milestones)
        events.append(FollowUpOpened(at=c.at, follow_up_id=f"{d.meeting_id}:{d.item_id}", owner=d.owner.strip(),
                                     milestones=milestones, due_at=dues))
    return events


RULES = {
    "raise": raise_, "assign_take_up": assign_take_up, "lapse_take_up": lapse_take_up, "support": support,
    "comment": comment, "hide_comment": hide_comment, "take": take, "decline": decline, "merge": merge,
    "absorb": absorb, "route": route, "schedule": schedule, "decide": decide_,
    "complete_milestone": complete_milestone, "lapse_milestones": lapse_milestones, "resolve": resolve,
    "route_outcome": route_outcome, "give_feedback": give_feedback, "close_feedback": close_feedback,
}
"""The rule of each command kind (``TopicCommand.kind``)."""
