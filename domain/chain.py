"""Canonical JSON and the hash chain of an event stream (see docs/log-format.md).

Pure: the same bytes come out of the same envelope on any machine, so an auditor can recompute every
hash without Yishi. This module is mirrored, standard library only, by ``tools/verify_export.py``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

GENESIS_HASH = "0" * 64
ENVELOPE_KEYS = ("occurred_at", "payload", "prev_hash", "recorded_at", "seq", "stream_id", "type")


class CanonicalJSONError(ValueError):
    """A value cannot be written as canonical JSON (floats and non-string keys are refused)."""


_PLAIN = frozenset((str, int, bool, type(None)))
"""Exact types that are always valid JSON scalars: skipped without building a path for them."""


def _check(value: Any, path: str) -> None:
    kind = type(value)
    if kind in _PLAIN:
        return
    if kind is dict:  # the common containers first; a path is built only for nested containers
        for key, item in value.items():
            if type(key) is not str and not isinstance(key, str):
                raise CanonicalJSONError(f"{path}: object keys must be strings, got {key!r}")
            if type(item) not in _PLAIN:
                _check(item, f"{path}.{key}")
        return
    if kind is list or kind is tuple:
        for index, item in enumerate(value):
            if type(item) not in _PLAIN:
                _check(item, f"{path}[{index}]")
        return
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        return
    if isinstance(value, float):
        raise CanonicalJSONError(f"{path}: floats are not allowed; write decimals as strings")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJSONError(f"{path}: object keys must be strings, got {key!r}")
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise CanonicalJSONError(f"{path}: {type(value).__name__} is not a JSON value")


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
"""The reference writer: the standard library's encoder with the canonical options (one for every call)."""

_SORT_KEYS = orjson.OPT_SORT_KEYS


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` canonically: sorted keys, no whitespace, UTF-8, integers only."""
    _check(value, "$")
    return _dump(value)


def _dump(value: Any) -> bytes:
    """The canonical bytes of a value :func:`_check` accepted.

    orjson with sorted keys writes the same bytes as the reference encoder for such values: keys in code
    point order (their UTF-8 bytes sort the same way), no whitespace, text as UTF-8 with the same escapes
    (quotation mark, reverse solidus, the short forms of five control characters, the other control
    characters as lower-case ``u00xx``), integers in decimal. tests/test_canonical_json.py compares the
    two on every code point and on random documents. What orjson refuses (integers beyond 64 bits,
    nesting deeper than it allows) the reference writes; text neither can encode (lone surrogates) fails.
    """
    try:
        return orjson.dumps(value, option=_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _ENCODER.encode(value).encode("utf-8")


_scan_json = json.JSONDecoder().scan_once  # the scanner ``json.loads`` runs (C), without its wrapper


def parse_json(text: str) -> Any:
    """``json.loads(text)`` for JSON text from the database (one value, no surrounding whitespace).

    The scanner is called directly: ``json.loads`` adds two regular-expression matches and a few calls
    per document, which is a third of its time for a ballot's small payload. Text it does not scan to
    the end (whitespace around the value, or invalid JSON) goes to ``json.loads`` itself.
    """
    try:
        value, end = _scan_json(text, 0)
    except StopIteration:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def format_instant(instant: datetime) -> str:
    """RFC 3339 in UTC with exactly six fractional digits and a ``Z``: ``2026-11-22T08:00:00.000000Z``."""
    if instant.tzinfo is None:
        raise CanonicalJSONError("timestamps must be timezone-aware")
    utc = instant if instant.tzinfo is UTC else instant.astimezone(UTC)
    if utc.year < 1000:  # isoformat pads the year to four digits, strftime's %Y does not
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def envelope(
    *,
    stream_id: str,
    seq: int,
    type: str,
    payload: Mapping[str, Any],
    occurred_at: datetime,
    recorded_at: datetime,
    prev_hash: str,
) -> dict[str, Any]:
    """The hashed part of an event: every column but ``hash``."""
    return {
        "occurred_at": format_instant(occurred_at),
        "payload": dict(payload),
        "prev_hash": prev_hash,
        "recorded_at": format_instant(recorded_at),
        "seq": seq,
        "stream_id": stream_id,
        "type": type,
    }


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    """``sha256(prev_hash as 64 ASCII hex digits ‖ canonical JSON bytes)`` in lower-case hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()


class ChainBreak(ValueError):
    """The first place where a stream stops being a valid chain."""

    def __init__(self, seq: int, message: str) -> None:
        super().__init__(f"seq {seq}: {message}")
        self.seq = seq


def verify_chain(
    rows: Iterable[Mapping[str, Any]],
    stream_id: str | None = None,
) -> tuple[int, str]:
    """Check seq continuity and every hash; return the head ``(seq, hash)``.

    Each row holds the envelope fields (timestamps as canonical strings) and ``hash``. Raises
    ``ChainBreak`` naming the first bad seq and what was expected.
    """
    expected_seq, prev = 1, GENESIS_HASH
    for row in rows:
        seq = row["seq"]
        if stream_id is not None and row["stream_id"] != stream_id:
            raise ChainBreak(seq, f"belongs to stream {row['stream_id']!r}, expected {stream_id!r}")
        if seq != expected_seq:
            raise ChainBreak(seq, f"expected seq {expected_seq} (gap, deletion or reordering)")
        if row["prev_hash"] != prev:
            raise ChainBreak(seq, f"prev_hash {row['prev_hash']} does not match previous hash {prev}")
        actual = _sha256(prev.encode("ascii") + envelope_bytes(row)).hexdigest()
        if actual != row["hash"]:
            raise ChainBreak(seq, f"hash {row['hash']} does not match recomputed {actual}")
        expected_seq, prev = seq + 1, actual
    return expected_seq - 1, prev


_sha256 = hashlib.sha256


def envelope_bytes(row: Mapping[str, Any]) -> bytes:
    """``canonical_json`` of the envelope fields of ``row`` (every key of :data:`ENVELOPE_KEYS`).

    When every field has its usual type only the payload needs the float and key check; any other field
    type takes the general path. The bytes are the same either way.
    """
    payload, seq = row["payload"], row["seq"]
    occurred, prev, recorded = row["occurred_at"], row["prev_hash"], row["recorded_at"]
    stream, kind = row["stream_id"], row["type"]
    if (type(payload) is dict and type(seq) is int and type(occurred) is str and type(prev) is str
            and type(recorded) is str and type(stream) is str and type(kind) is str):
        _check(payload, "$.payload")
        return _dump({"occurred_at": occurred, "payload": payload, "prev_hash": prev, "recorded_at": recorded,
                      "seq": seq, "stream_id": stream, "type": kind})
    return canonical_json({key: row[key] for key in ENVELOPE_KEYS})
