"""Topics (议题): 居民出题、社区领题 — the facade of the topic domain (pure).

A resident (owner or tenant, through the community's intake link), an owner (through their personal link), a
grid worker or a party member (from the console) raises a topic. The committee takes it up (领题) before a
deadline held by the topic's workflow, or declines it with a reason the proposer sees, merges it into a topic
already raised, or routes it to the escalation ladder (吹哨) or straight to a procedure. A missed take-up deadline
is recorded and the topic moves up the community's ladder, as a ticket does. A meeting puts a taken topic on its
agenda and records its decision; follow-up milestones are held by timers; when the work is done the proposer and
the supporters are asked for feedback, and the proposer's 不满意 reopens the topic once.

Events: :mod:`domain.topic_events`; the fold: :mod:`domain.topic_state`; commands: :mod:`domain.topic_commands`;
what each command checks: :mod:`domain.topic_rules`. :func:`decide` returns the events to append (``[]`` when a
retried command changes nothing) or raises :class:`TopicError` saying what to do. Deadlines on the legal calendar
are computed outside the domain and passed in (``due_at``).
"""

from __future__ import annotations

from domain import topic_rules
from domain.errors import N_
from domain.topic_commands import TopicCommand, TopicError
from domain.topic_events import Actor, Milestone, TopicDecision, TopicEvent, TopicSummary
from domain.topic_state import Topic, evolve, fold

__all__ = ["Actor", "Milestone", "TopicDecision", "TopicSummary", "Topic", "TopicError", "TopicCommand", "evolve",
           "fold", "decide", "summary"]


def decide(topic: Topic, command: TopicCommand) -> list[TopicEvent]:
    """The events ``command`` produces on ``topic``; raises :class:`TopicError` when it is refused."""
    if command.kind != "raise" and not topic.topic_id:
        raise TopicError(N_("no such topic; check the topic id"))
    return topic_rules.RULES[command.kind](topic, command)  # type: ignore[operator]


def summary(topic: Topic) -> TopicSummary:
    """What an agenda shows: no proposer, phone or room."""
    return TopicSummary(topic_id=topic.topic_id, community=topic.community, title=topic.title, status=topic.status,
                        building=topic.building)
