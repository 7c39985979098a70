"""The rules that close the loop (pure): follow-up milestones, resolution, feedback, reopening once, closing.

Issue 16: "不满意 reopens it once, as for escalation tickets". A ticket has one initiator; a topic has a proposer and
its supporters. The proposer's 不满意 reopens the topic (once); supporters' answers are recorded and counted, and do
not reopen it. A round closes when everyone asked has answered, or when its window ends (docs/topics.md).
"""

from __future__ import annotations

from domain.errors import N_, Items, Label
from domain.topic_checks import SYSTEM, bounded, by_staff, in_status, status_label
from domain.topic_commands import (
    MAX_COMMENT,
    MAX_DESCRIPTION,
    MAX_REASON,
    STAFF,
    CloseFeedback,
    CompleteMilestone,
    GiveFeedback,
    LapseMilestones,
    Resolve,
    RouteOutcome,
    TopicError,
    when,
)
from domain.topic_events import (
    ANSWERS,
    Actor,
    FeedbackGiven,
    FeedbackRequested,
    MilestoneDone,
    MilestoneMissed,
    RouteEnded,
    TopicClosed,
    TopicEvent,
    TopicReopened,
    TopicResolved,
    TopicVoteCounted,
)
from domain.topic_state import Topic


def complete_milestone(t: Topic, c: CompleteMilestone) -> list[TopicEvent]:
    f = next((x for x in t.follow_ups if x.follow_up_id == c.follow_up_id), None)
    if f is None or not 0 <= c.index < len(f.done):
        raise TopicError(N_("topic %(topic)s has no milestone %(number)s in follow-up %(follow_up)s"),
                         topic=t.topic_id, number=c.index + 1, follow_up=c.follow_up_id)
    if f.done[c.index]:
        return []
    in_status(t, ("following_up",), N_("record a milestone as done"))
    by_staff(t, c.by, STAFF, N_("record a milestone as done"))
    done = MilestoneDone(at=c.at, follow_up_id=c.follow_up_id, index=c.index, by=c.by,
                         note=c.note.strip()[:MAX_REASON], late=c.at >= f.due_at[c.index])
    left = sum(len(x.pending()) for x in t.follow_ups) - 1
    if left:
        return [done]
    names = "、".join(f.names)
    return [done, *_resolved(t, c.at, "follow_up", f"已落实：{names} / done: {names}", c.by, c.feedback_due,
                             c.feedback_fallback_years)]


def lapse_milestones(t: Topic, c: LapseMilestones) -> list[TopicEvent]:
    if t.status != "following_up":
        return []
    return [MilestoneMissed(at=c.at, follow_up_id=f.follow_up_id, index=i, due_at=f.due_at[i])
            for f in t.follow_ups for i in range(len(f.done))
            if not f.done[i] and not f.missed[i] and f.due_at[i] <= c.at]


def _resolved(t: Topic, at: object, source: str, resolution: str, by: Actor, due: object,
              years: tuple[int, ...]) -> list[TopicEvent]:
    respondents = tuple(dict.fromkeys(x for x in (t.proposer_id, *t.supporters) if x))
    return [TopicResolved(at=at, source=source, resolution=resolution, by=by),  # type: ignore[arg-type]
            FeedbackRequested(at=at, round=t.feedback_round + 1, respondents=respondents, due_at=due,  # type: ignore[arg-type]
                              fallback_years=years)]


def resolve(t: Topic, c: Resolve) -> list[TopicEvent]:
    if t.status == "resolved":
        return []
    in_status(t, ("taken", "decided", "following_up"), N_("resolve it"))
    by_staff(t, c.by, STAFF, N_("resolve it"))
    text = bounded(c.resolution, MAX_DESCRIPTION, N_("the resolution"))
    return _resolved(t, c.at, c.source, text, c.by, c.feedback_due, c.feedback_fallback_years)


def route_outcome(t: Topic, c: RouteOutcome) -> list[TopicEvent]:
    waiting = t.awaiting
    if waiting is None or waiting.stream != c.stream:
        return []  # recorded already, or the topic no longer waits for it
    if waiting.kind == "vote":
        return [TopicVoteCounted(at=c.at, deliberation_id=c.stream, outcome=c.outcome, approved=c.approved)]
    if c.status != "closed":
        return [RouteEnded(at=c.at, stream=c.stream, outcome=c.outcome, note=c.resolution[:MAX_DESCRIPTION])]
    source = "ticket" if waiting.kind == "ticket" else "procedure"
    text = c.resolution.strip() or c.outcome
    return _resolved(t, c.at, source, text[:MAX_DESCRIPTION], SYSTEM, c.feedback_due, c.feedback_fallback_years)


def give_feedback(t: Topic, c: GiveFeedback) -> list[TopicEvent]:
    if c.answer not in ANSWERS:
        raise TopicError(N_("'%(answer)s' is not an answer; choose one of: %(answers)s"), answer=c.answer[:40],
                         answers=Items(Label("answer", a) for a in ANSWERS))
    given = t.answered()
    if c.respondent in given and t.feedback_round:
        if given[c.respondent] == c.answer:
            return []
        raise TopicError(N_("you have answered already (%(answer)s); one answer per round"),
                         answer=Label("answer", given[c.respondent]))
    if t.status != "resolved" or t.feedback_due is None:
        raise TopicError(N_("topic %(topic)s is now '%(status)s': feedback is not being asked for"), topic=t.topic_id,
                         status=status_label(t.status))
    if c.at >= t.feedback_due:
        raise TopicError(N_("feedback closed at %(when)s"), when=when(t.feedback_due))
    if c.respondent not in t.respondents:
        raise TopicError(N_("you are not asked for feedback on this topic (the proposer and the supporters are)"))
    answered = FeedbackGiven(at=c.at, round=t.feedback_round, respondent=c.respondent, answer=c.answer,  # type: ignore[arg-type]
                             comment=c.comment.strip()[:MAX_COMMENT])
    if c.respondent == t.proposer_id and c.answer == "not_satisfied" and t.reopens == 0:
        return [answered, TopicReopened(at=c.at, reason="提出人不满意 / the proposer is not satisfied")]
    if len(given) + 1 == len(t.respondents):
        return [answered, _closed(t, c.at, {**given, c.respondent: c.answer})]
    return [answered]


def _closed(t: Topic, at: object, answers: dict[str, str]) -> TopicClosed:
    counts = {a: sum(1 for v in answers.values() if v == a) for a in ANSWERS}
    note = "; ".join(f"{a}={n}" for a, n in counts.items()) + f"; asked={len(t.respondents)}"
    return TopicClosed(at=at, outcome="resolved", note=note)  # type: ignore[arg-type]


def close_feedback(t: Topic, c: CloseFeedback) -> list[TopicEvent]:
    if t.status != "resolved" or t.feedback_due is None or c.at < t.feedback_due:
        return []
    return [_closed(t, c.at, t.answered())]
