"""One way to connect to Temporal: the pydantic data converter and the tracing interceptor everywhere
(client, worker, tests, Replayer), so histories decode the same in every process."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter

from yishi.settings import Settings

DATA_CONVERTER = pydantic_data_converter


def interceptors() -> list[TracingInterceptor]:
    return [TracingInterceptor()]


async def connect(settings: Settings) -> Client:
    if not settings.temporal_address:
        raise RuntimeError("YISHI_TEMPORAL_ADDRESS is not set; run `yishi up` or set it to host:port")
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
        interceptors=interceptors(),
    )
