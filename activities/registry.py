"""Every activity the worker runs, bound to this process's store and settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg

from activities.appraisal import AppraisalActivities
from activities.box import BoxActivities
from activities.calendar import CalendarActivities
from activities.escalation import EscalationActivities
from activities.escalation_links import FollowUpLinks
from activities.eventstore import EventStore
from activities.history_store import HistoryStore
from activities.hotline import HotlineActivities
from activities.keeper import HistoryKeeper
from activities.meetings import MeetingActivities
from activities.notices import NoticeActivities
from activities.stages import StageActivities
from activities.topics import TopicActivities
from yishi.settings import Settings


def build_activities(store: EventStore, pool: asyncpg.Pool, settings: Settings) -> list[Callable[..., Any]]:
    box = BoxActivities(store, pool)
    stages = StageActivities(store, pool)
    notices = NoticeActivities(store, pool, public_base_url=settings.public_base_url)
    # The owner's follow-up link goes out with the resolution's notice (activities/escalation_links.py).
    links = FollowUpLinks(pool, settings.secret_key.get_secret_value(), settings.public_base_url)
    escalations = EscalationActivities(store, pool, links=links)
    calendar = CalendarActivities(settings)
    hotline = HotlineActivities(store, pool, settings.secret_key.get_secret_value())
    topics = TopicActivities(store, pool)
    meetings = MeetingActivities(store, pool)
    appraisals = AppraisalActivities(store, pool)
    keeper = HistoryKeeper(store, HistoryStore(settings.histories_path))
    return [box.open_box, box.record_checkpoint, box.seal_box, box.list_non_voters,
            stages.append_stage_events, stages.issue_door_knock_list, stages.record_door_knock_list,
            stages.propose_cost_plan,
            notices.notice_channels, notices.deliver_notice,
            escalations.escalation_ladder, escalations.append_escalation_events, escalations.notify_escalation,
            escalations.dispatch_escalation_webhook, escalations.record_escalation_cancelled,
            escalations.escalation_outcome, escalations.route_escalation, hotline.hotline_callback,
            calendar.compute_deadlines, topics.apply_topic_command,
            topics.read_topic, topics.topic_take_up_levels, topics.deliberation_outcome,
            meetings.apply_meeting_command, meetings.read_meeting, meetings.append_series_events,
            meetings.register_meeting_vote,
            appraisals.witness_appraisal_open, appraisals.remind_appraisal, appraisals.close_appraisal,
            keeper.keep_histories]
