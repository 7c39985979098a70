"""Every workflow type the worker runs (and the Replayer replays)."""

from __future__ import annotations

from workflows.ballot_box import BallotBoxWorkflow
from workflows.consultation import ConsultationWorkflow
from workflows.elevator import ElevatorWorkflow
from workflows.escalation import EscalationWorkflow
from workflows.meeting import MeetingWorkflow
from workflows.meeting_series import MeetingSeriesWorkflow
from workflows.property import PropertyWorkflow
from workflows.topic import TopicWorkflow

WORKFLOWS: list[type] = [BallotBoxWorkflow, ElevatorWorkflow, PropertyWorkflow, ConsultationWorkflow,
                          EscalationWorkflow, TopicWorkflow, MeetingWorkflow, MeetingSeriesWorkflow]
