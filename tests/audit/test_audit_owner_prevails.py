"""``owner_prevails`` in the record: tools/verify_export.py counts as the domain does on random streams with the rule
on (the owner's own ballot over her proxy's whatever their order) and with it absent (boxes opened before it, where
the last ballot counted whoever cast it), and the rule changes the result on some of them, so both counts are
exercised; a result recorded under one rule and checked under the other is refused by both verifiers."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from test_audit_standalone import T0, random_rows, standalone

from domain.box_state import fold
from domain.events import BallotCast, ProxyAuthorised, event_from_dict
from yishi.services.audit_checks import check_recount


def with_proxy_pair(seed: int) -> list[dict[str, Any]]:
    """A random stream where one owner authorised a proxy and both voted, differently, in a random order."""
    rows, rng = random_rows(seed), random.Random(seed)
    owners = sorted({room["owner_id"] for room in rows[0]["payload"]["roll"]})
    owner, proxy = rng.sample(owners, 2)
    own = BallotCast(owner_id=owner, choice="for", cast_at=T0 + timedelta(minutes=45))
    proxied = BallotCast(owner_id=owner, choice="against", cast_at=T0 + timedelta(minutes=50), cast_by=proxy)
    if rng.random() < 0.5:
        own, proxied = (own.model_copy(update={"cast_at": proxied.cast_at}),
                        proxied.model_copy(update={"cast_at": own.cast_at}))
    extra = [e.model_dump(mode="json") for e in (own, proxied)]
    grant = ProxyAuthorised(owner_id=owner, proxy_owner_id=proxy, at=T0).model_dump(mode="json")
    payloads = [rows[0]["payload"], grant] + [r["payload"] for r in rows[1:-2]] + extra + [
        r["payload"] for r in rows[-2:]]
    return [{"stream_id": "d", "seq": n, "type": p["type"], "payload": p} for n, p in enumerate(payloads, 1)]


def recounted(rows: list[dict[str, Any]], owner_prevails: bool) -> list[dict[str, Any]]:
    """The random stream with the rule on (or off), its recorded result counted by the domain."""
    rows = [dict(r, payload=dict(r["payload"])) for r in rows]
    if owner_prevails:
        rows[0]["payload"]["owner_prevails"] = True
    else:
        rows[0]["payload"].pop("owner_prevails", None)
    state = fold(event_from_dict(r["type"], r["payload"]) for r in rows if r["type"] != "ResultRecorded")
    rows[-1]["payload"]["results"] = {qid: result.to_json() for qid, result in state.results().items()}
    return rows


def test_standalone_recount_equals_the_domain_with_and_without_the_rule() -> None:
    differs = 0
    for seed in range(300):
        base = with_proxy_pair(seed)
        on, off = recounted(base, True), recounted(base, False)
        for rows in (on, off):
            mine, recorded, _ = standalone.recount(rows)
            assert standalone.compare(mine, recorded) is None, (seed, standalone.compare(mine, recorded))
            check = check_recount("d", rows, [])
            assert check is not None and check.ok, (seed, check)
        differs += on[-1]["payload"]["results"] != off[-1]["payload"]["results"]
    assert differs >= 30, differs


def test_a_result_counted_under_the_other_rule_is_refused_by_both() -> None:
    for seed in range(300):
        base = with_proxy_pair(seed)
        on, off = recounted(base, True), recounted(base, False)
        if on[-1]["payload"]["results"]["main"] != off[-1]["payload"]["results"]["main"]:
            break
    else:
        raise AssertionError("no random stream where the rule changes the main result")
    on[-1]["payload"]["results"] = off[-1]["payload"]["results"]  # the box says owner_prevails, counted without
    domain_check, other = check_recount("d", on, []), standalone.check_recount("d", on, [])
    assert not domain_check.ok and not other.ok and domain_check.seq == other.seq == on[-1]["seq"]
