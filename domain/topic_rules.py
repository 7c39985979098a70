"""What each topic command checks and the events it returns; one function per command kind (pure).

Refusals say what to do next in Chinese and English (:class:`domain.topic_commands.TopicError`). A command
retried after it took effect returns ``[]`` (a double tap, an activity re-run), never a second event.
"""

from __future__ import annotations

from collections.abc import Collection

from domain.legal_calendar import BEIJING
from domain.topic_commands import (
    MAX_COMMENT,
    MAX_DESCRIPTION,
    MAX_REASON,
    MAX_TITLE,
    ROUTERS,
    STAFF,
    Absorb,
    AssignTakeUp,
    CloseFeedback,
    Comment,
    CompleteMilestone,
    Decide,
    Decline,
    GiveFeedback,
    HideComment,
    LapseMilestones,
    LapseTakeUp,
    Merge,
    Raise,
    Resolve,
    Route,
    RouteOutcome,
    Schedule,
    Support,
    Take,
    TopicError,
    when,
)
from domain.topic_events import (
    ANSWER_ZH,
    ANSWERS,
    Actor,
    CommentHidden,
    CommentPosted,
    FeedbackGiven,
    FeedbackRequested,
    FollowUpOpened,
    Milestone,
    MilestoneDone,
    MilestoneMissed,
    RouteEnded,
    SupportAdded,
    SupportersMerged,
    TakeUpAssigned,
    TakeUpDeadlineMissed,
    TopicClosed,
    TopicDecided,
    TopicDeclined,
    TopicEvent,
    TopicMerged,
    TopicReopened,
    TopicResolved,
    TopicRouted,
    TopicScheduled,
    TopicTaken,
    TopicVoteCounted,
)
from domain.topic_state import Topic, milestone_deadline

STATUS_ZH = {"raised": "待领题", "taken": "已领题", "scheduled": "已列入议程", "decided": "已作出决定",
             "voting": "表决中", "following_up": "落实中", "routed": "已转办", "resolved": "已办结、征求评价",
             "declined": "未受理", "merged": "已合并", "closed": "已关闭", "new": "未提出"}
SYSTEM = Actor(kind="system", name="workflow", community="")


def _text(value: str, limit: int, zh: str, en: str) -> str:
    text = value.strip()
    if not text:
        raise TopicError(f"请填写{zh}", f"the {en} is empty; fill it in")
    if len(text) > limit:
        raise TopicError(f"{zh}最多 {limit} 字（现有 {len(text)} 字）", f"the {en} has {len(text)} characters; "
                         f"at most {limit}")
    return text


def _in(t: Topic, statuses: Collection[str], zh: str, en: str) -> None:
    if t.status not in statuses:
        now = STATUS_ZH.get(t.status, t.status)
        raise TopicError(f"议题 {t.topic_id} 当前为“{now}”，不能{zh}", f"topic {t.topic_id} is {t.status}; it cannot "
                         f"be {en} now")


def _by(t: Topic, by: Actor, kinds: Collection[str], zh: str, en: str) -> None:
    if by.kind not in kinds:
        raise TopicError(f"“{by.kind}”不能{zh}（可办理：{'、'.join(sorted(kinds))}）",
                         f"'{by.kind}' cannot have a topic {en} (allowed: {', '.join(sorted(kinds))})")
    if by.kind not in ("street_office", "system") and by.community != t.community:
        raise TopicError(f"议题属于社区“{t.community}”，{by.name}（{by.community}）不能{zh}",
                         f"the topic belongs to community '{t.community}'; {by.name} ({by.community}) cannot have it "
                         f"{en}")


def _not_finished(t: Topic, zh: str, en: str) -> None:
    if t.finished:
        where = f"，已并入议题 {t.merged_into}，请到该议题{zh}" if t.merged_into else ""
        there = f"; it was merged into {t.merged_into}: {en} that one" if t.merged_into else ""
        raise TopicError(f"议题 {t.topic_id} 已{STATUS_ZH[t.status]}{where}", f"topic {t.topic_id} is "
                         f"{t.status}{there}")


def raise_(t: Topic, c: Raise) -> list[TopicEvent]:
    if t.topic_id:
        if t.topic_id == c.event.topic_id:
            return []  # the same form sent twice
        raise TopicError("该议题编号已被使用", "this topic id is taken")
    e = c.event
    title = _text(e.title, MAX_TITLE, "议题标题", "title")
    description = _text(e.description, MAX_DESCRIPTION, "情况描述", "description")
    return [e.model_copy(update={"title": title, "description": description})]


def assign_take_up(t: Topic, c: AssignTakeUp) -> list[TopicEvent]:
    if t.take_up is not None:
        return []
    _in(t, ("raised",), "安排领题", "assigned")
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
    _not_finished(t, "支持", "support")
    if c.supporter == t.proposer_id or c.supporter in t.supporters:
        return []  # one support per person: joining twice changes nothing
    return [SupportAdded(at=c.at, supporter=c.supporter, kind=c.supporter_kind)]


def comment(t: Topic, c: Comment) -> list[TopicEvent]:
    _not_finished(t, "留言", "commented on")
    if any(x.comment_id == c.comment_id for x in t.comments):
        return []
    text = _text(c.text, MAX_COMMENT, "留言内容", "comment")
    return [CommentPosted(at=c.at, comment_id=c.comment_id, author=c.author, author_kind=c.author_kind, text=text)]


def hide_comment(t: Topic, c: HideComment) -> list[TopicEvent]:
    _by(t, c.by, ROUTERS | {"grid_worker"}, "隐藏留言", "a comment hidden")
    found = next((x for x in t.comments if x.comment_id == c.comment_id), None)
    if found is None:
        raise TopicError(f"议题 {t.topic_id} 没有编号为 {c.comment_id} 的留言", f"topic {t.topic_id} has no comment "
                         f"{c.comment_id}")
    if found.hidden_reason is not None:
        return []
    reason = _text(c.reason, MAX_REASON, "隐藏理由", "reason for hiding")
    return [CommentHidden(at=c.at, comment_id=c.comment_id, reason=reason, by=c.by)]


def take(t: Topic, c: Take) -> list[TopicEvent]:
    if t.status == "taken" and t.taken_by == c.by.name:
        return []
    _in(t, ("raised",), "领题", "taken up")
    roles = set(t.take_up.roles if t.take_up else ()) | {"committee"}
    _by(t, c.by, roles, "领题", "taken up")
    late = bool(t.take_up_missed) or (t.take_up is not None and c.at >= t.take_up.due_at)
    return [TopicTaken(at=c.at, by=c.by, note=c.note.strip()[:MAX_REASON], late=late)]


def decline(t: Topic, c: Decline) -> list[TopicEvent]:
    if t.status == "declined":
        return []
    _in(t, ("raised",), "不予受理", "declined")
    _by(t, c.by, set(t.take_up.roles if t.take_up else ()) | {"committee"}, "不予受理", "declined")
    reason = _text(c.reason, MAX_REASON, "不受理的理由（提出人会看到）", "reason (the proposer sees it)")
    return [TopicDeclined(at=c.at, by=c.by, reason=reason)]


def merge(t: Topic, c: Merge) -> list[TopicEvent]:
    if t.status == "merged" and t.merged_into == c.into:
        return []
    if c.into == t.topic_id:
        raise TopicError("不能把议题并入它自己", "a topic cannot be merged into itself")
    _in(t, ("raised", "taken"), "合并", "merged")
    _by(t, c.by, ROUTERS, "合并议题", "merged")
    carried = (t.proposer_id, *t.supporters) if t.proposer_id else t.supporters
    return [TopicMerged(at=c.at, into=c.into, by=c.by, supporters=tuple(carried), note=c.note.strip()[:MAX_REASON])]


def absorb(t: Topic, c: Absorb) -> list[TopicEvent]:
    if c.from_topic in t.merged_from:
        return []
    _not_finished(t, "并入重复议题", "merged into")
    _by(t, c.by, ROUTERS, "合并议题", "merged")
    return [SupportersMerged(at=c.at, from_topic=c.from_topic, supporters=c.supporters, by=c.by)]


def route(t: Topic, c: Route) -> list[TopicEvent]:
    if t.awaiting is not None and t.awaiting.stream == c.stream:
        return []
    _in(t, ("raised", "taken", "decided", "following_up"), "转办", "routed")
    _by(t, c.by, ROUTERS, "转办（吹哨或启动程序）", "routed")
    if not c.stream.strip():
        raise TopicError("缺少工单或议事编号", "the ticket or deliberation id is missing")
    ticket, deliberation = (c.stream, None) if c.target == "ladder" else (None, c.stream)
    return [TopicRouted(at=c.at, target=c.target, ticket_id=ticket, deliberation_id=deliberation,
                        category=c.category, by=c.by, note=c.note.strip()[:MAX_REASON])]


def schedule(t: Topic, c: Schedule) -> list[TopicEvent]:
    slot = (c.meeting_id, c.item_id)
    if t.scheduled == slot:
        return []
    if t.status == "scheduled" and t.scheduled is not None:
        raise TopicError(f"议题 {t.topic_id} 已列入议事会 {t.scheduled[0]} 的议程；请先在该次会议上决定或暂缓",
                         f"topic {t.topic_id} is on the agenda of meeting {t.scheduled[0]}; decide or defer it there "
                         "first")
    _in(t, ("taken", "decided"), "列入议程（须先领题）", "put on an agenda (take it up first)")
    _by(t, c.by, STAFF, "安排议程", "scheduled")
    return [TopicScheduled(at=c.at, meeting_id=c.meeting_id, item_id=c.item_id, by=c.by)]


def _decision_problems(c: Decide) -> None:
    d = c.decision
    _text(d.summary, MAX_DESCRIPTION, "决定内容", "decision summary")
    if d.kind == "vote" and not d.vote_deliberation_id:
        raise TopicError("付诸表决须注明表决编号", "a decision put to a vote needs the vote's deliberation id")
    if d.kind == "escalated" and not d.ticket_id:
        raise TopicError("吹哨上报须注明工单编号", "an escalated decision needs the ticket id")
    if d.kind == "consensus" and (d.milestones or d.due) and not (d.owner or "").strip():
        raise TopicError("有完成期限的决定须写明负责人（谁来做）",
                         "a decision with a deadline needs an owner (who does it)")
    today = c.at.astimezone(BEIJING).date()
    for m in (*d.milestones, *((Milestone(name=d.summary, due=d.due),) if d.due else ())):
        if m.due < today:
            raise TopicError(f"节点“{m.name}”的期限 {m.due} 早于会议日期 {today}，请更正",
                             f"milestone '{m.name}' is due {m.due}, before the meeting ({today}); correct it")


def decide_(t: Topic, c: Decide) -> list[TopicEvent]:
    d = c.decision
    if d in t.decisions and t.decisions[-1] == d:
        return []
    _in(t, ("scheduled",), "记录决定（须先列入议程）", "decided (put it on an agenda first)")
    if t.scheduled != (d.meeting_id, d.item_id):
        meeting, item = t.scheduled or ("", "")
        raise TopicError(f"议题列在议事会 {meeting} 第 {item} 项，不是 {d.meeting_id} 第 {d.item_id} 项",
                         f"the topic is item {item} of meeting {meeting}, not item {d.item_id} of {d.meeting_id}")
    _by(t, c.by, STAFF, "记录决定", "decided")
    _decision_problems(c)
    events: list[TopicEvent] = [TopicDecided(at=c.at, decision=d, by=c.by)]
    if d.kind == "consensus" and d.owner and (d.milestones or d.due):
        milestones = d.milestones or (Milestone(name=d.summary.strip()[:MAX_TITLE], due=d.due),)  # type: ignore[arg-type]
        dues = tuple(milestone_deadline(m.due) for m in milestones)
        events.append(FollowUpOpened(at=c.at, follow_up_id=f"{d.meeting_id}:{d.item_id}", owner=d.owner.strip(),
                                     milestones=milestones, due_at=dues))
    return events


def complete_milestone(t: Topic, c: CompleteMilestone) -> list[TopicEvent]:
    f = next((x for x in t.follow_ups if x.follow_up_id == c.follow_up_id), None)
    if f is None or not 0 <= c.index < len(f.done):
        raise TopicError(f"议题 {t.topic_id} 没有落实事项 {c.follow_up_id} 第 {c.index + 1} 个节点",
                         f"topic {t.topic_id} has no milestone {c.index + 1} in follow-up {c.follow_up_id}")
    if f.done[c.index]:
        return []
    _in(t, ("following_up",), "登记节点完成", "given a milestone")
    _by(t, c.by, STAFF, "登记节点完成", "given a milestone")
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
    _in(t, ("taken", "decided", "following_up"), "办结", "resolved")
    _by(t, c.by, STAFF, "办结", "resolved")
    text = _text(c.resolution, MAX_DESCRIPTION, "办理结果", "resolution")
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
        raise TopicError(f"评价“{c.answer}”无效，可选：满意、基本满意、不满意",
                         f"answer '{c.answer}' is not one of: {', '.join(ANSWERS)}")
    given = t.answered()
    if c.respondent in given and t.feedback_round:
        if given[c.respondent] == c.answer:
            return []
        raise TopicError(f"您已评价过（{ANSWER_ZH[given[c.respondent]]}），每轮只能评价一次",
                         f"you have answered ({given[c.respondent]}); one answer per round")
    if t.status != "resolved" or t.feedback_due is None:
        raise TopicError(f"议题 {t.topic_id} 当前为“{STATUS_ZH.get(t.status, t.status)}”，不在评价期",
                         f"topic {t.topic_id} is {t.status}; feedback is not being asked for")
    if c.at >= t.feedback_due:
        raise TopicError(f"评价已于 {when(t.feedback_due)} 截止", f"feedback closed at {when(t.feedback_due)}")
    if c.respondent not in t.respondents:
        raise TopicError("您不在本议题的评价名单中（提出人和支持者可以评价）",
                         "you are not asked for feedback on this topic (the proposer and the supporters are)")
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


RULES = {
    "raise": raise_, "assign_take_up": assign_take_up, "lapse_take_up": lapse_take_up, "support": support,
    "comment": comment, "hide_comment": hide_comment, "take": take, "decline": decline, "merge": merge,
    "absorb": absorb, "route": route, "schedule": schedule, "decide": decide_,
    "complete_milestone": complete_milestone, "lapse_milestones": lapse_milestones, "resolve": resolve,
    "route_outcome": route_outcome, "give_feedback": give_feedback, "close_feedback": close_feedback,
}
"""The rule of each command kind (``TopicCommand.kind``)."""
