"""The topic decider, given events / when a command / then events (domain/topic_rules.py), pure."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from domain import topic_commands as cmd
from domain.legal_calendar import BEIJING
from domain.topic_events import (
    Actor,
    Milestone,
    Raiser,
    TopicDecision,
    TopicEvent,
    TopicRaised,
)
from domain.topics import TopicError, decide, fold
from tests.texts import en, zh

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=BEIJING)  # a Monday
CLERK = Actor(kind="committee", name="李书记", account="li", community="xfl")
OTHER = Actor(kind="committee", name="王主任", account="wang", community="lhy")
STREET = Actor(kind="street_office", name="街道王科长", community="")
COMMUNITY = cmd.TakeUpLevel(key="community", org="committee:xfl", roles=("committee",))
STREET_LEVEL = cmd.TakeUpLevel(key="street", org="street", roles=("street_office",))


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def raised_event() -> TopicRaised:
    return TopicRaised(at=T0, topic_id="topic-000000000001", community="xfl", title="3号楼电梯经常停运",
                       description="这周停了三次", building="3号楼", source="intake",
                       raised_by=Raiser(id="phone:abc", kind="resident", contact="hmac-sha256:abc"))


def given(*commands: cmd.TopicCommand) -> list[TopicEvent]:
    """The events of ``commands`` applied one after another from nothing."""
    events: list[TopicEvent] = []
    for command in commands:
        events += decide(fold(events), command)
    return events


def opened() -> list[cmd.TopicCommand]:
    return [cmd.Raise(at=T0, event=raised_event()),
            cmd.AssignTakeUp(at=T0, level=0, target=COMMUNITY, due_at=at(24 * 7))]


def when(events: list[TopicEvent], command: cmd.TopicCommand) -> list[str]:
    return [e.type for e in decide(fold(events), command)]


def test_take_within_the_deadline() -> None:
    events = given(*opened())
    assert when(events, cmd.Take(at=at(1), by=CLERK)) == ["TopicTaken"]
    taken = given(*opened(), cmd.Take(at=at(1), by=CLERK))
    assert fold(taken).status == "taken" and not taken[-1].late  # type: ignore[union-attr]
    assert when(taken, cmd.Take(at=at(2), by=CLERK)) == [], "taking it again changes nothing"


def test_another_community_cannot_take_it() -> None:
    with pytest.raises(TopicError) as refused:
        decide(fold(given(*opened())), cmd.Take(at=at(1), by=OTHER))
    assert "xfl" in zh(refused.value) and "belongs to community 'xfl'" in en(refused.value)


def test_missed_take_up_moves_up_the_ladder_once() -> None:
    events = given(*opened())
    assert when(events, cmd.LapseTakeUp(at=at(24 * 7 - 1), next=STREET_LEVEL, next_due=at(24 * 14))) == [], \
        "not before the deadline"
    lapse = cmd.LapseTakeUp(at=at(24 * 7), next=STREET_LEVEL, next_due=at(24 * 14))
    assert when(events, lapse) == ["TakeUpDeadlineMissed", "TakeUpAssigned"]
    events = given(*opened(), lapse)
    topic = fold(events)
    assert topic.take_up.org == "street" and topic.take_up.reason == "escalated"  # type: ignore[union-attr]
    assert topic.take_up_missed == ("community",)
    assert when(events, lapse) == [], "recorded once"
    with pytest.raises(TopicError):
        decide(topic, cmd.Take(at=at(24 * 8), by=Actor(kind="grid_worker", name="网格员", community="xfl")))
    assert when(events, cmd.Take(at=at(24 * 8), by=STREET)) == ["TopicTaken"], "the street office takes it up"
    late = decide(topic, cmd.Take(at=at(24 * 8), by=CLERK))[0]
    assert late.late, "the committee may still take it, recorded as late"  # type: ignore[union-attr]
    top = cmd.LapseTakeUp(at=at(24 * 14))
    assert when(events, top) == ["TakeUpDeadlineMissed"], "the top level: recorded, nowhere to go"


def test_decline_needs_a_reason_the_proposer_sees() -> None:
    events = given(*opened())
    with pytest.raises(TopicError) as refused:
        decide(fold(events), cmd.Decline(at=at(1), by=CLERK, reason="  "))
    assert "提出人会看到" in zh(refused.value)
    events = given(*opened(), cmd.Decline(at=at(1), by=CLERK, reason="属于物业合同纠纷，请向物业公司反映"))
    topic = fold(events)
    assert topic.status == "declined" and topic.declined_reason == "属于物业合同纠纷，请向物业公司反映"
    with pytest.raises(TopicError) as refused:
        decide(topic, cmd.Support(at=at(2), supporter="owner:O311", supporter_kind="owner"))
    assert "不予受理" in zh(refused.value)


def test_support_is_counted_once_per_supporter() -> None:
    events = given(*opened(), cmd.Support(at=at(1), supporter="owner:O311", supporter_kind="owner"))
    assert when(events, cmd.Support(at=at(2), supporter="owner:O311", supporter_kind="owner")) == []
    assert when(events, cmd.Support(at=at(2), supporter="phone:abc", supporter_kind="resident")) == [], \
        "the proposer supports their own topic already"
    assert fold(events).supporter_count == 1


def test_merge_carries_proposer_and_supporters() -> None:
    dup = given(*opened(), cmd.Support(at=at(1), supporter="owner:O311", supporter_kind="owner"))
    merged = decide(fold(dup), cmd.Merge(at=at(2), into="topic-000000000002", by=CLERK))
    assert merged[0].supporters == ("phone:abc", "owner:O311")  # type: ignore[union-attr]
    with pytest.raises(TopicError):
        decide(fold(dup), cmd.Merge(at=at(2), into="topic-000000000001", by=CLERK))
    target = [*given(*opened()), *[]]
    target = [e.model_copy(update={"topic_id": "topic-000000000002"}) if e.type == "TopicRaised" else e
              for e in target]
    target += decide(fold(target), cmd.Support(at=at(1), supporter="owner:O311", supporter_kind="owner"))
    absorb = cmd.Absorb(at=at(3), from_topic="topic-000000000001", supporters=merged[0].supporters,  # type: ignore[union-attr]
                        by=CLERK)
    target += decide(fold(target), absorb)
    topic = fold(target)
    assert topic.supporters == ("owner:O311",) and topic.supporter_count == 1, \
        "the target's own proposer is not a supporter; O311 supported both and counts once"
    assert decide(topic, absorb) == [], "absorbed once"


def test_comment_hidden_keeps_its_text() -> None:
    events = given(*opened(), cmd.Comment(at=at(1), comment_id="c-1", author="owner:O311", author_kind="owner",
                                          text="同意，电梯太老了"))
    with pytest.raises(TopicError):
        decide(fold(events), cmd.HideComment(at=at(2), comment_id="c-1", reason="", by=CLERK))
    events += decide(fold(events), cmd.HideComment(at=at(2), comment_id="c-1", reason="含个人信息", by=CLERK))
    (comment,) = fold(events).comments
    assert comment.text == "同意，电梯太老了" and comment.hidden_reason == "含个人信息"


def scheduled() -> list[TopicEvent]:
    return given(*opened(), cmd.Take(at=at(1), by=CLERK),
                 cmd.Schedule(at=at(2), meeting_id="meeting-1", item_id="1", by=CLERK))


def test_consensus_opens_follow_up_and_missed_milestones_are_flagged() -> None:
    decision = TopicDecision(meeting_id="meeting-1", item_id="1", kind="consensus", summary="更换主板",
                             owner="物业公司", milestones=(Milestone(name="采购", due=date(2026, 3, 5)),
                                                         Milestone(name="更换", due=date(2026, 3, 9))))
    events = scheduled() + decide(fold(scheduled()), cmd.Decide(at=at(3), decision=decision, by=CLERK))
    topic = fold(events)
    assert topic.status == "following_up"
    assert topic.follow_ups[0].due_at[0] == datetime(2026, 3, 6, tzinfo=BEIJING), "24:00 of the due day"
    assert when(events, cmd.LapseMilestones(at=datetime(2026, 3, 5, 23, 59, tzinfo=BEIJING))) == []
    events += decide(topic, cmd.LapseMilestones(at=datetime(2026, 3, 6, tzinfo=BEIJING)))
    assert [e.type for e in events[-1:]] == ["MilestoneMissed"]
    assert fold(events).follow_ups[0].missed == (True, False)
    due = datetime(2026, 3, 20, tzinfo=BEIJING)
    done = cmd.CompleteMilestone(at=at(24 * 4), follow_up_id="meeting-1:1", index=0, by=CLERK, feedback_due=due)
    assert decide(fold(events), done)[0].late  # type: ignore[union-attr]
    events += decide(fold(events), done)
    last = cmd.CompleteMilestone(at=at(24 * 5), follow_up_id="meeting-1:1", index=1, by=CLERK, feedback_due=due)
    assert when(events, last) == ["MilestoneDone", "TopicResolved", "FeedbackRequested"]


def test_a_decision_with_a_deadline_needs_an_owner_and_a_future_date() -> None:
    no_owner = TopicDecision(meeting_id="meeting-1", item_id="1", kind="consensus", summary="修", due=date(2026, 3, 9))
    with pytest.raises(TopicError) as refused:
        decide(fold(scheduled()), cmd.Decide(at=at(3), decision=no_owner, by=CLERK))
    assert "负责人" in zh(refused.value)
    past = no_owner.model_copy(update={"owner": "物业", "due": date(2026, 3, 1)})
    with pytest.raises(TopicError) as refused:
        decide(fold(scheduled()), cmd.Decide(at=at(3), decision=past, by=CLERK))
    assert "2026-03-01" in zh(refused.value)


def feedback_round(reopens: int = 0) -> list[TopicEvent]:
    events = given(*opened(), cmd.Support(at=at(1), supporter="owner:O311", supporter_kind="owner"),
                   cmd.Take(at=at(1), by=CLERK))
    events += decide(fold(events), cmd.Resolve(at=at(5), source="committee", resolution="已修复", by=CLERK,
                                               feedback_due=at(24 * 7)))
    return events


def test_proposer_not_satisfied_reopens_once_then_the_round_closes() -> None:
    events = feedback_round()
    topic = fold(events)
    assert topic.respondents == ("phone:abc", "owner:O311")
    with pytest.raises(TopicError) as refused:
        decide(topic, cmd.GiveFeedback(at=at(6), respondent="owner:O999", answer="satisfied"))
    assert "评价名单" in zh(refused.value)
    supporter = cmd.GiveFeedback(at=at(6), respondent="owner:O311", answer="not_satisfied")
    assert when(events, supporter) == ["FeedbackGiven"], "a supporter's 不满意 is recorded, it does not reopen"
    proposer = cmd.GiveFeedback(at=at(6), respondent="phone:abc", answer="not_satisfied", comment="还是停")
    assert when(events, proposer) == ["FeedbackGiven", "TopicReopened"]
    events += decide(topic, proposer)
    assert fold(events).status == "taken" and fold(events).reopens == 1
    events += decide(fold(events), cmd.Resolve(at=at(30), source="committee", resolution="换了新电梯", by=CLERK,
                                               feedback_due=at(24 * 9)))
    assert fold(events).feedback_round == 2
    events += decide(fold(events), cmd.GiveFeedback(at=at(31), respondent="phone:abc", answer="not_satisfied"))
    assert fold(events).status == "resolved", "the second 不满意 does not reopen again"
    last = cmd.GiveFeedback(at=at(32), respondent="owner:O311", answer="satisfied")
    assert when(events, last) == ["FeedbackGiven", "TopicClosed"], "everyone asked has answered"


def test_feedback_window_closes_at_its_end_and_refuses_after() -> None:
    events = feedback_round()
    close = cmd.CloseFeedback(at=at(24 * 7 - 1))
    assert when(events, close) == []
    assert when(events, cmd.CloseFeedback(at=at(24 * 7))) == ["TopicClosed"]
    with pytest.raises(TopicError) as refused:
        decide(fold(events), cmd.GiveFeedback(at=at(24 * 7), respondent="phone:abc", answer="satisfied"))
    assert "截止" in zh(refused.value)


def test_route_and_its_outcomes() -> None:
    taken = given(*opened(), cmd.Take(at=at(1), by=CLERK))
    route = cmd.Route(at=at(2), target="ladder", stream="topic-000000000001/esc-1", category="housing", by=CLERK)
    events = taken + decide(fold(taken), route)
    assert fold(events).status == "routed" and decide(fold(events), route) == []
    with pytest.raises(TopicError):
        decide(fold(taken), route.model_copy(update={"by": Actor(kind="resident", name="x", community="xfl")}))
    ended = cmd.RouteOutcome(at=at(3), stream="topic-000000000001/esc-1", status="cancelled", outcome="cancelled",
                             feedback_due=at(24 * 7))
    assert when(events, ended) == ["RouteEnded"]
    closed = ended.model_copy(update={"status": "closed", "outcome": "resolved", "resolution": "已责令整改"})
    assert when(events, closed) == ["TopicResolved", "FeedbackRequested"]
    assert when(events, closed.model_copy(update={"stream": "other"})) == [], "not what it waits for"
