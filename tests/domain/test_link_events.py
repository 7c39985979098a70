"""Link events and the link generation of a ballot (domain/link_events.py, domain/events.py): payloads that hash as
before, batches folded into one act each, and what the owner's page and the audit ask of the ledger."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from domain.chain import canonical_json
from domain.events import BallotCast, event_from_dict
from domain.link_events import (
    IssuedEntry,
    LinkReissued,
    LinkRevoked,
    LinksIssued,
    LiveLinksDisclosed,
    chunks,
    fold_links,
    link_event_from_dict,
)

T0 = datetime(2026, 12, 3, 6, 20, tzinfo=UTC)
HASH = "ab" * 32
OLD_ONLINE = {"type": "BallotCast", "owner_id": "O-0301", "question_id": "main", "choice": "for", "channel": "online",
              "cast_at": "2026-11-22T08:30:15.123456Z", "cast_by": None, "paper_ref": None, "idempotency_key": "web-1"}
"""An online ballot as stored before ``link_generation`` (and ``entered_by``) existed."""


def test_a_ballot_recorded_before_link_generations_keeps_its_bytes() -> None:
    again = event_from_dict("BallotCast", OLD_ONLINE).model_dump(mode="json")
    assert canonical_json(again) == canonical_json(OLD_ONLINE), "the same payload, so the same hash"
    paper = BallotCast(owner_id="O-1", choice="against", channel="paper", cast_at=T0, paper_ref="P-1", entered_by=3)
    assert "link_generation" not in paper.model_dump(mode="json")


def test_an_online_ballot_records_its_link_generation() -> None:
    cast = event_from_dict("BallotCast", {**OLD_ONLINE, "link_generation": 2})
    assert cast.link_generation == 2 and cast.model_dump(mode="json")["link_generation"] == 2
    assert BallotCast(**{**OLD_ONLINE, "link_generation": None}).model_dump(mode="json") == OLD_ONLINE


def test_link_events_name_hashes_and_refuse_anything_else() -> None:
    with pytest.raises(ValidationError):  # a payload carrying the token itself is not a link event
        link_event_from_dict("LinkReissued", {"at": "2026-12-03T06:20:00Z", "by": "张三", "via": "console",
                                              "owner_id": "O-1", "generation": 2, "token_hash": HASH, "token": "x"})
    with pytest.raises(ValidationError):
        IssuedEntry(owner_id="O-1", generation=1, token_hash="not-a-sha256")
    with pytest.raises(ValidationError):
        LiveLinksDisclosed(at=T0, by="张三", via="email", format="csv", owners=("O-1",))  # type: ignore[arg-type]


def test_the_ledger_folds_batches_into_acts_and_answers_the_owner_and_the_audit() -> None:
    by = {"at": T0, "by": "张三", "via": "console"}
    owners = [f"O-{n}" for n in range(5)]
    parts = chunks([IssuedEntry(owner_id=o, generation=1, token_hash=HASH) for o in owners], 2)
    assert [len(p) for p in parts] == [2, 2, 1] and chunks([], 2) == [[]]
    events = [LinksIssued(links=tuple(p), part=n, parts=3, **by) for n, p in enumerate(parts, 1)]
    events += [LiveLinksDisclosed(format="sheets", owners=tuple(owners[:3]), part=1, parts=2, **by),
               LiveLinksDisclosed(format="sheets", owners=tuple(owners[3:]), part=2, parts=2, **by),
               LinkReissued(owner_id="O-1", generation=2, token_hash=HASH, revoked_generation=1, reason="lost", **by),
               LiveLinksDisclosed(format="sheet", owners=("O-1",), **by),
               LinkRevoked(owner_id="O-4", generation=1, reason="sold", **by)]
    ledger = fold_links(enumerate(events, 1))
    assert ledger.issued_batches == 1 and ledger.issue_of("O-3", 1).kind == "issued"  # type: ignore[union-attr]
    assert ledger.issue_of("O-1", 2).seq == 6 and ledger.issue_of("O-1", 3) is None  # type: ignore[union-attr]
    assert [(a.kind, a.format, a.households) for a in ledger.acts] == [
        ("disclosed", "sheets", 5), ("reissued", "", 1), ("disclosed", "sheet", 1), ("revoked", "", 1)]
    assert [a.kind for a in ledger.acts_of["O-1"]] == ["disclosed", "reissued", "disclosed"]
    assert [a.kind for a in ledger.acts_of["O-2"]] == ["disclosed"], "only the acts that named the household"
    assert ledger.last_reissue("O-1").reason == "lost" and ledger.last_reissue("O-2") is None  # type: ignore[union-attr]
