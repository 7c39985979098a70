"""Every workflow type the worker runs (and the Replayer replays)."""

from __future__ import annotations

from workflows.ballot_box import BallotBoxWorkflow

WORKFLOWS: list[type] = [BallotBoxWorkflow]
