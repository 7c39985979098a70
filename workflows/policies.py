"""The activity timeout and retry policy every workflow uses unless it says otherwise.

A leaf module (it imports no workflow), so ``common``, ``ballot_box``, ``escalation`` and ``escalating`` can all
take the same values without importing each other.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

ACTIVITY_TIMEOUT = timedelta(seconds=60)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
