"""``domain.chain`` writes canonical JSON with orjson and reads JSON with the standard library's scanner: the
bytes and values must be exactly the standard library's, which the export's own verifier
(tools/verify_export.py) and any auditor's script use.

The reference here is that verifier's ``canonical`` (``json.dumps`` with sorted keys, no whitespace, no
ASCII escaping): a difference on any input would make a correct chain look broken, or the reverse.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.chain import CanonicalJSONError, canonical_json, envelope_bytes, parse_json

_SPEC = importlib.util.spec_from_file_location(
    "verify_export", Path(__file__).resolve().parents[1] / "tools" / "verify_export.py")
assert _SPEC is not None and _SPEC.loader is not None
verify_export = importlib.util.module_from_spec(_SPEC)
sys.modules.setdefault("verify_export", verify_export)
_SPEC.loader.exec_module(verify_export)
reference = verify_export.canonical

SURROGATES = range(0xD800, 0xE000)


def test_every_code_point_is_written_as_the_standard_library_writes_it() -> None:
    # As text, as a key, and next to one another (so key order is compared across planes too).
    for start in range(0, 0x110000, 0x800):
        chars = [chr(cp) for cp in range(start, start + 0x800) if cp not in SURROGATES]
        if not chars:
            continue
        text = "".join(chars)
        document = {"text": text, **{c: ord(c) for c in chars[::37]}, "k" + text[:64]: [text[:5], None]}
        assert canonical_json(document) == reference(document), f"code points from U+{start:04X}"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_random_documents_are_written_and_read_back_as_the_standard_library_does(value: Any) -> None:
    written = canonical_json(value)
    assert written == reference(value)
    assert parse_json(written.decode("utf-8")) == json.loads(written)
    row = {"stream_id": "d/esc-1", "seq": 7, "type": "T", "occurred_at": "2026-12-01T08:00:00.000000Z",
           "recorded_at": "2026-12-01T08:00:00.000001Z", "prev_hash": "0" * 64, "payload": {"v": value}}
    assert envelope_bytes(row) == reference({key: row[key] for key in sorted(row)})


def test_integers_beyond_64_bits_and_deep_nesting_take_the_reference_writer() -> None:
    for value in ({"big": 2**64, "small": -(2**63) - 1}, {"n": 10**40}):
        assert canonical_json(value) == reference(value)
    deep: Any = "leaf"
    for _ in range(300):  # orjson refuses more than 254 levels
        deep = [deep]
    assert canonical_json(deep) == reference(deep)


@pytest.mark.parametrize("value", [{"area": 1.5}, [0.0], {"a": {"b": [float("nan")]}}])
def test_floats_are_refused_whatever_writes_the_bytes(value: Any) -> None:
    with pytest.raises(CanonicalJSONError, match="floats"):
        canonical_json(value)
    with pytest.raises(CanonicalJSONError, match="floats"):
        envelope_bytes({"stream_id": "d", "seq": 1, "type": "X", "payload": value if isinstance(value, dict)
                        else {"v": value}, "occurred_at": "t", "recorded_at": "t", "prev_hash": "0" * 64})


def test_values_outside_json_are_refused_before_orjson_sees_them() -> None:
    # orjson would write these (a datetime, a set is refused by both, a tuple key); canonical JSON refuses them.
    from datetime import UTC, datetime
    for value in ({"at": datetime(2026, 12, 1, tzinfo=UTC)}, {1: "x"}, {"s": {1, 2}}):
        with pytest.raises(CanonicalJSONError):
            canonical_json(value)


@settings(max_examples=300, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30) | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
))
def test_parse_json_reads_numbers_and_text_as_json_loads_does(value: Any) -> None:
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False), json.dumps(value, indent=1)):
        assert repr(parse_json(text)) == repr(json.loads(text))  # repr: 1 and 1.0 (and -0.0) stay apart


@pytest.mark.parametrize("text", ['{"a":1,"a":2}', '{"id":"12345678901234567890123"}', "[1e19, -9223372036854775809]",
                                  "NaN", "[1E400]", '{"n":18446744073709551616}', " [1] ",
                                  '"\\ud83d\\ude00"', '{"x":-0}'])
def test_parse_json_gives_what_json_loads_gives(text: str) -> None:
    mine, theirs = parse_json(text), json.loads(text)
    assert json.dumps(mine) == json.dumps(theirs)  # NaN != NaN: compare their writing
