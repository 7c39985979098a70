"""Binds the workflow and deliberation ids into structlog's context for every activity attempt, so each
log line an activity writes says which deliberation and which workflow run it served."""

from __future__ import annotations

from typing import Any

import structlog
from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)


class _BindIds(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        ids = {"workflow_id": info.workflow_id, "workflow_run_id": info.workflow_run_id,
               "activity": info.activity_type, "attempt": info.attempt}
        first = input.args[0] if input.args else None
        deliberation_id = getattr(first, "deliberation_id", None)
        if deliberation_id:
            ids["deliberation_id"] = deliberation_id
        with structlog.contextvars.bound_contextvars(**ids):
            return await super().execute_activity(input)


class LoggingInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _BindIds(next)
