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

