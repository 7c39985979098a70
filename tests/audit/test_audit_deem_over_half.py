"""``deem_over_half`` in the record: tools/verify_export.py and the domain recount agree on random streams with the
setting on; a ``BoxOpened`` stored without the key (every box before the setting existed) verifies, folds and
recounts as plain deeming, in PostgreSQL; and a real vote with the setting passes both verifiers."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from audit_helpers import WITHDRAWN, Vote, _wait_open, apply, audit_roll, now, spec
from temporalio.worker import Worker
from test_audit_standalone import T0, random_rows, standalone
from test_audit_tamper import audit_both

from activities.box import load_box
from activities.eventstore import NewEvent
from activities.registry import build_activities
from domain.box_state import fold
from domain.chain import envelope_bytes, verify_chain
from domain.commands import CastBallot
from domain.events import BallotCast, BoxOpened, BoxSealed, Question, ResultRecorded, event_from_dict
from domain.roll import Roll, Room, Scope
from workflows.registry import WORKFLOWS
from yishi.services.audit import read_rows
from yishi.services.audit_checks import check_recount
from yishi.services.deliberations import DeliberationSpec, start_vote
from yishi.settings import Settings


def with_over_half(seed: int) -> list[dict[str, Any]]:
    """A random stream of test_audit_standalone with deeming and the over-half condition on, its recorded result
    counted again by the domain."""
    rows = random_rows(seed)
    rows[0]["payload"].update(deem_silent=True, deem_over_half=True)
    state = fold(event_from_dict(r["type"], r["payload"]) for r in rows if r["type"] != "ResultRecorded")
    rows[-1]["payload"]["results"] = {qid: result.to_json() for qid, result in state.results().items()}
    return rows


def test_standalone_recount_equals_the_domain_with_over_half_on() -> None:
    seen = {"applied": 0, "short_of_half": 0, "no_majority": 0}
    for seed in range(300):
        rows = with_over_half(seed)
        assert event_from_dict("BoxOpened", rows[0]["payload"]).deem_over_half
        mine, recorded, _ = standalone.recount(rows)
        assert standalone.compare(mine, recorded) is None, (seed, standalone.compare(mine, recorded))
        domain_check = check_recount("d", rows, [])
        assert domain_check is not None and domain_check.ok, (seed, domain_check)
        deeming = recorded["main"]["deeming"]
        if deeming["applied"]:
            seen["applied"] += 1
            side = recorded["main"]["in_favour" if deeming["direction"] == "for" else "against"]
            assert 2 * side["owners"] > recorded["main"]["eligible"]["owners"]
        else:
            seen["short_of_half" if deeming["direction"] else "no_majority"] += 1
    assert all(count >= 10 for count in seen.values()), seen


def test_both_verifiers_catch_a_result_recorded_without_the_condition() -> None:
    """A result counted with plain deeming under a box that says ``deem_over_half`` is refused by both."""
    for seed in range(300):
        rows = random_rows(seed)
        rows[0]["payload"].update(deem_silent=True)
        events = [event_from_dict(r["type"], r["payload"]) for r in rows if r["type"] != "ResultRecorded"]
        plain = fold(events).results()["main"]
        rows[0]["payload"]["deem_over_half"] = True
        refined = fold(event_from_dict(r["type"], r["payload"]) for r in rows
                       if r["type"] != "ResultRecorded").results()["main"]
        if plain.deeming.applied and not refined.deeming.applied:
            break
    else:
        raise AssertionError("no random stream where the condition changes the result")
    rows[-1]["payload"]["results"] = {"main": plain.to_json()}  # what a verifier ignoring the setting would accept
    domain_check = check_recount("d", rows, [])
    other = standalone.check_recount("d", rows, [])
    assert not domain_check.ok and not other.ok and domain_check.seq == other.seq == rows[-1]["seq"]
    assert "main.deeming" in domain_check.detail and "main.deeming" in other.detail


def _legacy_stream() -> list[Any]:
    """A box as recorded before ``deem_over_half`` existed: deeming on, the majority 2 of 6 owners (plain deeming
    applies; the over-half condition would refuse it)."""
    rooms = tuple(Room(room_id=f"1-1-{n}", building="1", entrance="1", floor="1", area_m2=area, owner_id=f"o{n}")
                  for n, area in enumerate(["89.5", "100.25", "60", "75.0001", "80", "90"]))
    roll = Roll(rooms=rooms)
    opened = BoxOpened(deliberation_id="legacy", questions=(Question(text_zh="问", text_en="q"),),
                       rule_id="cc278-ordinary", scope=Scope(), roll_digest=roll.digest(), roll=roll.entries(),
                       opens_at=T0, closes_at=T0 + timedelta(hours=1), deem_silent=True)
    ballots = [BallotCast(owner_id=o, choice=c, cast_at=T0 + timedelta(minutes=n))
               for n, (o, c) in enumerate((("o0", "for"), ("o1", "for"), ("o2", "against")))]
    events: list[Any] = [opened, *ballots]
    results = fold(events).results()
    return [*events, BoxSealed(at=T0 + timedelta(hours=1), reason="deadline"),
            ResultRecorded(at=T0 + timedelta(hours=1), results=results)]


async def test_box_opened_stored_without_the_key_verifies_folds_and_recounts(store, pool, stream_id) -> None:
    events = _legacy_stream()
    payloads = [e.model_dump(mode="json") for e in events]
    assert "deem_over_half" not in payloads[0] and payloads[0]["deem_silent"] is True
    await store.append(stream_id, [NewEvent(type=e.type, payload=p, occurred_at=T0) for e, p in zip(events, payloads,
                                                                                                     strict=True)])
    rows = await read_rows(pool, stream_id)
    assert "deem_over_half" not in rows[0]["payload"]
    assert verify_chain(rows, stream_id)[0] == len(events)
    assert standalone.check_chain(stream_id, rows).ok
    # decoding and re-encoding gives the stored bytes again: the same hash
    decoded = event_from_dict("BoxOpened", rows[0]["payload"])
    assert not decoded.deem_over_half and decoded.model_dump(mode="json") == rows[0]["payload"]
    assert envelope_bytes({**rows[0], "payload": decoded.model_dump(mode="json")}) == envelope_bytes(rows[0])
    state, seq = await load_box(store, stream_id)
    assert seq == len(events) and state.status == "sealed"
    main = state.results()["main"]
    assert main.deeming is not None and main.deeming.applied and main.deeming.direction == "for"
    assert {q: r.to_json() for q, r in state.results().items()} == rows[-1]["payload"]["results"]
    domain_check = check_recount(stream_id, rows, [])
    assert domain_check is not None and domain_check.ok, domain_check
    assert standalone.check_recount(stream_id, rows, []).ok


async def test_a_vote_with_over_half_passes_both_verifiers(temporal_client, pool, store, tmp_path) -> None:
    """Three of twelve owners vote for, one against: plain deeming would carry the other eight; this box does not."""
    settings = Settings(task_queue=f"audit-deem-{uuid.uuid4().hex[:8]}")
    deliberation = DeliberationSpec(**{**spec(deem_silent=True).model_dump(), "deem_over_half": True})
    async with Worker(temporal_client, task_queue=settings.task_queue, workflows=WORKFLOWS,
                      activities=build_activities(store, pool, settings)):
        did, handle = await start_vote(temporal_client, pool, audit_roll(), deliberation,
                                       task_queue=settings.task_queue, checkpoint_every=timedelta(hours=1))
        await _wait_open(store, did)
        for owner, choice in (("O11", "for"), ("O12", "for"), ("O21", "for"), ("O22", "against")):
            await apply(store, did, CastBallot(owner_id=owner, choice=choice, cast_at=now()))
        await handle.signal("withdraw", WITHDRAWN)
        vote = Vote(did, await handle.result())
    rows = await read_rows(pool, vote.id)
    assert rows[0]["payload"]["deem_over_half"] is True and rows[0]["payload"]["deem_silent"] is True
    recorded = rows[-1]["payload"]["results"]["main"]
    assert recorded["deeming"]["applied"] is False and recorded["deeming"]["direction"] == "for"
    assert "3/12 户" in recorded["deeming"]["zh"] and "3 of 12 owners" in recorded["deeming"]["en"]
    assert recorded["effective_outcome"] == recorded["outcome"]
    report, other = await audit_both(vote, pool, temporal_client, tmp_path)
    assert report.ok and other["ok"], report.failures
