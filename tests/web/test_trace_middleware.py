"""TraceAndHarden: a server span named by the route when tracing is configured, none when it is not; the tracer
is looked up once and still reaches a provider configured later."""

from __future__ import annotations

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import yishi.tracing
from yishi.web.middleware import TraceAndHarden


async def _page(request):  # type: ignore[no-untyped-def]
    return PlainTextResponse("ok")


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    """A provider of this test's own, as configure_tracing would set it; everything restored afterwards."""
    provider, exporter = TracerProvider(), InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(yishi.tracing, "_tracer", None)
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", provider)
    return exporter


async def _get(path: str) -> httpx.Response:
    app = TraceAndHarden(Starlette(routes=[Route("/v/{token}", _page)]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return await client.get(path)


async def test_a_configured_tracer_gets_the_route_not_the_path(monkeypatch, exporter) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(yishi.tracing, "_configured", True)
    response = await _get("/v/secret-token")
    assert response.status_code == 200 and response.headers["x-frame-options"] == "DENY"
    [span] = exporter.get_finished_spans()
    assert span.name == "GET /v/{token}" and span.kind == trace.SpanKind.SERVER
    assert dict(span.attributes or {}) == {"http.request.method": "GET", "http.route": "/v/{token}",
                                           "http.response.status_code": 200}


async def test_without_tracing_no_span_and_the_same_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    """No exporter of Yishi's and no provider installed by anyone: no span is opened, the headers are the same."""
    monkeypatch.setattr(yishi.tracing, "_configured", False)
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)  # the API's proxy provider, as in a plain `yishi web`
    opened: list[str] = []
    real = yishi.tracing.tracer

    class Watch:
        def start_as_current_span(self, name: str, **kw):  # type: ignore[no-untyped-def]
            opened.append(name)
            return real().start_as_current_span(name, **kw)

    monkeypatch.setattr("yishi.web.middleware.tracer", lambda: Watch())
    response = await _get("/v/secret-token")
    assert response.status_code == 200 and response.text == "ok"
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert opened == []


async def test_a_provider_installed_by_someone_else_gets_the_span(monkeypatch, exporter) -> None:  # type: ignore[no-untyped-def]
    """`opentelemetry-instrument` (or an embedding application) installs a provider without YISHI_OTEL_EXPORTER:
    the request's span still reaches it."""
    monkeypatch.setattr(yishi.tracing, "_configured", False)
    response = await _get("/v/secret-token")
    assert response.status_code == 200
    assert [s.name for s in exporter.get_finished_spans()] == ["GET /v/{token}"]


def test_the_cached_tracer_hands_over_to_a_provider_set_later(monkeypatch: pytest.MonkeyPatch) -> None:
    """yishi.tracing looks its tracer up once; spans still reach a provider configured after that lookup."""
    monkeypatch.setattr(yishi.tracing, "_tracer", None)  # this test's own lookup, forgotten afterwards
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    cached = yishi.tracing.tracer()
    with cached.start_as_current_span("before") as span:
        assert not span.is_recording()
    provider, exporter = TracerProvider(), InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", provider)  # what configure_tracing's set_tracer_provider does
    assert yishi.tracing.tracer() is cached
    with yishi.tracing.tracer().start_as_current_span("after"):
        pass
    assert [s.name for s in exporter.get_finished_spans()] == ["after"]
