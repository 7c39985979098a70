"""Every workflow type the worker runs (and the Replayer replays)."""

from __future__ import annotations

WORKFLOWS: list[type] = []
