"""``event_from_json`` (a stored event validated straight from its JSON text) decides exactly as
``event_from_dict`` of the parsed text: the same event, or the same refusal in the same words."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import UnknownEventError
from domain.events import EVENT_TYPES, event_from_dict, event_from_json

STAMP = "2026-12-01T08:30:15.123456Z"

BALLOT = {"type": "BallotCast", "owner_id": "O-1-1-1001", "question_id": "main", "choice": "for",
          "channel": "online", "cast_at": STAMP, "cast_by": None, "paper_ref": None, "idempotency_key": "k-1"}

# Field values that are right, wrong in type, or borderline for one of the event types' fields.
values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 10**20), st.text(max_size=6),
    st.sampled_from(["for", "against", "abstain", "online", "paper", "main", STAMP, "2026-12-01T08:30:15",
                     "2026-12-01T08:30:15+08:00", "revoked", "replaced", "O-1", "1.5", ""]),
    st.lists(st.integers(0, 3), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
fields = st.sampled_from(["type", "owner_id", "question_id", "choice", "channel", "cast_at", "cast_by",
                          "paper_ref", "idempotency_key", "entered_by", "proxy_owner_id", "at", "reason",
                          "results", "extra"])


def outcome(decode: Any, kind: str, payload: Any) -> tuple[str, Any]:
    try:
        return "event", decode(kind, payload)
    except UnknownEventError as exc:
        return "refused", str(exc)


@settings(max_examples=600, deadline=None)
@given(kind=st.sampled_from([k for k in EVENT_TYPES if k != "BoxOpened"] + ["Unknown"]),
       base=st.sampled_from([BALLOT, {"owner_id": "O-1", "proxy_owner_id": "O-2", "at": STAMP}, {}]),
       changes=st.dictionaries(fields, values, max_size=3), drop=st.lists(fields, max_size=2))
def test_json_and_dict_decoding_agree(kind: str, base: dict[str, Any], changes: dict[str, Any],
                                      drop: list[str]) -> None:
    payload = {k: v for k, v in {**base, **changes}.items() if k not in drop}
    text = json.dumps(payload, ensure_ascii=False)
    assert outcome(event_from_json, kind, text) == outcome(event_from_dict, kind, json.loads(text))


@pytest.mark.parametrize("payload", [BALLOT, {**BALLOT, "type": "ProxyAuthorised"}, {**BALLOT, "choice": "maybe"},
                                     {k: v for k, v in BALLOT.items() if k != "type"}, {**BALLOT, "entered_by": 7}])
def test_stored_ballots_decode_the_same_either_way(payload: dict[str, Any]) -> None:
    text = json.dumps(payload)
    assert outcome(event_from_json, "BallotCast", text) == outcome(event_from_dict, "BallotCast", payload)
