"""The JSON log line: orjson for the usual line, the same keys and values as structlog's own renderer."""

from __future__ import annotations

import datetime
import enum
import json
import uuid

import pytest
from structlog.processors import JSONRenderer

from yishi.logs import JsonLine


class Plain(enum.Enum):
    A = 1


class Word(enum.StrEnum):
    B = "b"


LINES = [
    {"event": "ballot.cast", "deliberation_id": "d-1", "seq": 5, "channel": "online", "precedence": None,
     "ok": True, "share": 1.5, "room": "3栋-1201 “业主”\n\"x\"\u2028\x01", "level": "info"},
    {"event": "x", "big": 2**70}, {"event": "x", "at": datetime.datetime(2026, 1, 1)},
    {"event": "x", "id": uuid.UUID(int=1)}, {"event": "x", "plain": Plain.A}, {"event": "x", "word": Word.B},
    {"event": "x", "nested": {"a": [1, 2]}}, {"event": "x", "error": ValueError("boom")},
]


@pytest.mark.parametrize("line", LINES)
def test_the_same_keys_and_values_as_structlogs_renderer(line: dict) -> None:
    ours = JsonLine()(None, "info", dict(line))
    assert json.loads(ours) == json.loads(JSONRenderer(ensure_ascii=False)(None, "info", dict(line)))
    assert list(json.loads(ours)) == list(line), "keys in the same order"


def test_what_json_cannot_say_is_rendered_as_before() -> None:
    line = {"event": "x", "ratio": float("nan")}
    assert JsonLine()(None, "info", dict(line)) == JSONRenderer(ensure_ascii=False)(None, "info", dict(line))


def test_the_cached_tracer_hands_over_to_a_provider_set_later(monkeypatch: pytest.MonkeyPatch) -> None:
    """yishi.tracing looks its tracer up once; spans still reach a provider configured after that lookup."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import yishi.tracing

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
