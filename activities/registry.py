"""Every activity the worker runs, bound to this process's store and settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.box import BoxActivities
from activities.eventstore import EventStore
from yishi.settings import Settings


def build_activities(store: EventStore, settings: Settings) -> list[Callable[..., Any]]:
    box = BoxActivities(store)
    return [box.record_checkpoint]
