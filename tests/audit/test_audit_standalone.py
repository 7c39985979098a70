"""The standalone verifier against the domain code, without servers: the worked example of docs/log-format.md,
and random streams (online, paper, proxy ballots, refused proxies, scopes, rules, deeming) counted by both
the domain (`yishi audit verify`) and tools/verify_export.py, which must agree to the last fraction."""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from audit_helpers import VERIFIER

from domain.box_state import fold
from domain.events import BallotCast, BoxOpened, BoxSealed, ProxyAuthorised, ProxyRevoked, Question, ResultRecorded
from domain.roll import Roll, Room, Scope
from domain.rules import RULES, Rule, _approval
from yishi.services.audit import timeline_of
from yishi.services.audit_checks import check_recount

T0 = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
_spec = importlib.util.spec_from_file_location("verify_export", VERIFIER)
assert _spec and _spec.loader
standalone: Any = sys.modules.setdefault("verify_export", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(standalone)


def test_worked_example_of_the_log_format() -> None:
    first = {"occurred_at": "2026-11-22T08:30:15.123456Z", "payload": {
        "area_m2": "89.45", "channel": "online", "choice": "for", "owner_id": "O-0301", "question_id": "main"},
        "prev_hash": "0" * 64, "recorded_at": "2026-11-22T08:30:15.200000Z", "seq": 1, "stream_id": "delib-demo-1",
        "type": "BallotCast", "hash": "e83f298e4a074eb7f31579a6420b43f23c1982ce946adc323a9dbde0a541029d"}
    second = {"occurred_at": "2026-11-22T08:31:00.000000Z", "payload": {"text": "业主说明：同意加装电梯"},
              "prev_hash": first["hash"], "recorded_at": "2026-11-22T08:31:00.500000Z", "seq": 2,
              "stream_id": "delib-demo-1", "type": "NoteAdded",
              "hash": "351031c521ce15159b2d3cd1c6f232de87d3602f356281a9018af9587af31979"}
    assert standalone.check_chain("delib-demo-1", [first, second]).ok
    changed = dict(first, payload=dict(first["payload"], area_m2="98.45"))
    broken = standalone.check_chain("delib-demo-1", [changed, second])
    assert not broken.ok and broken.seq == 1


def _roll(rng: random.Random) -> Roll:
    rooms, owners = [], [f"o{n}" for n in range(rng.randint(6, 12))]
    for n in range(len(owners) + rng.randint(0, 4)):  # some owners hold two rooms
        building, entrance = str(rng.randint(1, 2)), str(rng.randint(1, 2))
        area = Decimal(rng.randint(4000, 12000)) / Decimal(100)
        rooms.append(Room(room_id=f"{building}-{entrance}-{n:03d}", building=building, entrance=entrance,
                          floor=str(n % 6 + 1), area_m2=area, owner_id=owners[n % len(owners)]))
    return Roll(rooms=tuple(rooms))


def _event(rng: random.Random, owners: list[str], questions: list[str]) -> Any:
    at = T0 + timedelta(minutes=rng.randint(0, 40))  # out of order, with ties: cast_at then seq decides
    owner, other = rng.sample(owners, 2)
    roll_ = rng.random()
    if roll_ < 0.15:
        return ProxyAuthorised(owner_id=owner, proxy_owner_id=other, at=at)
    if roll_ < 0.22:
        return ProxyRevoked(owner_id=owner, proxy_owner_id=other, at=at)
    return BallotCast(owner_id=owner, question_id=rng.choice(questions), choice=rng.choice(["for", "against",
                      "abstain"]), channel=rng.choice(["online", "online", "paper"]), cast_at=at,
                      cast_by=rng.choice([None, None, None, other]))


def random_rows(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    roll = _roll(rng)
    scope = rng.choice([Scope(), Scope(building="1"), Scope(building="1", entrance="2")])
    if not any(scope.contains(r) for r in roll.rooms):
        scope = Scope()
    questions = ["main"] + (["q2"] if rng.random() < 0.3 else [])
    opened = BoxOpened(deliberation_id="d", questions=tuple(Question(id=q, text_zh=q, text_en=q) for q in questions),
                       rule_id=rng.choice(list(RULES)), scope=scope, roll_digest=roll.digest(), roll=roll.entries(),
                       opens_at=T0, closes_at=T0 + timedelta(hours=1), proxy_limit=rng.randint(1, 3),
                       deem_silent=rng.random() < 0.5)
    owners = sorted(roll.owner_ids) + ["not-on-roll"]
    events: list[Any] = [opened] + [_event(rng, owners, questions) for _ in range(rng.randint(0, 40))]
    events = [e for e in events if getattr(e, "proxy_owner_id", None) != "not-on-roll"]
    results = fold(events).results()
    events += [BoxSealed(at=T0 + timedelta(hours=1), reason="deadline"),
               ResultRecorded(at=T0 + timedelta(hours=1), results=results)]
    return [{"stream_id": "d", "seq": n, "type": e.type, "payload": e.model_dump(mode="json")}
            for n, e in enumerate(events, 1)]


def test_standalone_recount_equals_the_domain_on_random_streams() -> None:
    seen = {"ignored": 0, "deemed": 0, "approved": 0, "paper": 0}
    for seed in range(300):
        rows = random_rows(seed)
        mine, recorded, _ = standalone.recount(rows)
        assert standalone.compare(mine, recorded) is None, (seed, standalone.compare(mine, recorded))
        main = recorded["main"]
        seen["ignored"] += bool(main["ignored"])
        seen["deemed"] += bool(main["deeming"] and main["deeming"]["applied"])
        seen["approved"] += main["outcome"] == "approved"
        seen["paper"] += any(r["payload"].get("channel") == "paper" for r in rows)
    assert all(count >= 10 for count in seen.values()), seen


def test_both_verifiers_name_the_same_event_when_a_recorded_result_is_wrong() -> None:
    for seed in range(40):
        rows = random_rows(seed)
        results = rows[-1]["payload"]["results"]["main"]
        results["in_favour"] = dict(results["in_favour"], owners=results["in_favour"]["owners"] + 1)
        domain_check = check_recount("d", rows, [])
        other = standalone.check_recount("d", rows, [])
        assert not domain_check.ok and not other.ok
        assert domain_check.seq == other.seq == rows[-1]["seq"]
        assert "main.in_favour" in domain_check.detail and "main.in_favour" in other.detail


def test_a_self_proxy_is_refused_by_both() -> None:
    rows = random_rows(1)
    bad = ProxyAuthorised(owner_id="o1", proxy_owner_id="o1", at=T0)
    rows.insert(1, {"stream_id": "d", "seq": 2, "type": bad.type, "payload": bad.model_dump(mode="json")})
    for n, row in enumerate(rows, 1):
        row["seq"] = n
    domain_check, other = check_recount("d", rows, []), standalone.check_recount("d", rows, [])
    assert not domain_check.ok and not other.ok and domain_check.seq == other.seq == 2


def test_timeline_shows_stage_actor_and_deadline_but_never_the_choice() -> None:
    rows = random_rows(7)
    proxy = ProxyAuthorised(owner_id="o1", proxy_owner_id="o2", at=T0)
    ballot = BallotCast(owner_id="o1", choice="against", cast_at=T0, cast_by="o2")
    for event in (proxy, ballot):
        rows.insert(-2, {"stream_id": "d", "seq": 0, "type": event.type, "payload": event.model_dump(mode="json")})
    for n, row in enumerate(rows, 1):
        row.update(seq=n, occurred_at="2026-11-22T00:00:00.000000Z", recorded_at="2026-11-22T00:00:00.000000Z",
                   hash=f"{n:064x}")
    entries = timeline_of(rows)
    assert entries[0].stage == "vote" and entries[0].deadline == rows[0]["payload"]["closes_at"]
    cast = next(e for e in entries if e.type == "BallotCast" and e.role == "proxy for o1")
    assert cast.actor == "o2" and "against" not in cast.summary and "o1" in cast.summary
    assert entries[-1].summary.startswith("result recorded")


# ---- the rules the standalone verifier carries (issue 15, item 5) --------------------------------------------

CONDITION_KEYS = ("id", "basis", "measure", "base", "threshold")


def as_data(rule: Rule) -> dict[str, Any]:
    """A domain rule as the verifier carries it: the counting fields of each condition, and the sources."""
    dumped = rule.model_dump(mode="json")
    return {"id": rule.id, "source_zh": rule.source_zh, "source_en": rule.source_en,
            **{stage: [{k: c[k] for k in CONDITION_KEYS} for c in dumped[stage]] for stage in ("quorum", "approval")}}


def wrong_special() -> Rule:
    """cc278-special with approval ≥ 1/2 instead of ≥ 3/4: the kind of slip a code change could bring."""
    return RULES["cc278-special"].model_copy(update={"approval": _approval(Fraction(1, 2), True)})


def test_the_verifier_carries_the_domain_rules() -> None:
    """The two tables cannot drift apart: same ids, same conditions and thresholds, same sources."""
    assert list(standalone.RULES) == list(RULES)
    for rule_id, rule in RULES.items():
        assert standalone.RULES[rule_id] == as_data(rule), rule_id


def stream_under(rule: Rule, monkeypatch: Any) -> list[dict[str, Any]]:
    """Ten owners of equal area, six for and four against, counted and recorded by the domain under ``rule``."""
    rooms = tuple(Room(room_id=f"1-1-{n}", building="1", entrance="1", floor="1", area_m2=Decimal("90"),
                       owner_id=f"o{n}") for n in range(10))
    roll = Roll(rooms=rooms)
    opened = BoxOpened(deliberation_id="d", questions=(Question(id="main", text_zh="q", text_en="q"),),
                       rule_id=rule.id, scope=Scope(), roll_digest=roll.digest(), roll=roll.entries(), opens_at=T0,
                       closes_at=T0 + timedelta(hours=1))
    ballots = [BallotCast(owner_id=f"o{n}", choice="for" if n < 6 else "against", cast_at=T0) for n in range(10)]
    with monkeypatch.context() as patch:
        patch.setitem(RULES, rule.id, rule)
        results = fold([opened, *ballots]).results()
    events = [opened, *ballots, BoxSealed(at=T0 + timedelta(hours=1), reason="deadline"),
              ResultRecorded(at=T0 + timedelta(hours=1), results=results)]
    return [{"stream_id": "d", "seq": n, "type": e.type, "payload": e.model_dump(mode="json")}
            for n, e in enumerate(events, 1)]


def test_a_result_counted_under_a_wrong_rule_fails_the_standalone_recount(monkeypatch: Any) -> None:
    """6 of 10 for passes ≥ 1/2 but not the statute's ≥ 3/4: the recount here uses the verifier's own rule."""
    wrong = stream_under(wrong_special(), monkeypatch)
    assert wrong[-1]["payload"]["results"]["main"]["outcome"] == "approved"
    check = standalone.check_recount("d", wrong, [])
    assert not check.ok and check.seq == wrong[-1]["seq"]
    assert "main.conditions" in check.detail and "3/4" in check.detail and "1/2" in check.detail
    right = stream_under(RULES["cc278-special"], monkeypatch)
    assert right[-1]["payload"]["results"]["main"]["outcome"] == "rejected"
    assert standalone.check_recount("d", right, []).ok


def test_rule_json_is_checked_against_the_rules_carried() -> None:
    stated = [RULES[rule_id].model_dump(mode="json") for rule_id in RULES]
    streams = {"d": random_rows(3)}
    assert standalone.check_rules(stated, streams).ok
    tampered = [wrong_special().model_dump(mode="json"), *stated[1:]]
    check = standalone.check_rules(tampered, streams)
    assert not check.ok and check.subject == "rule.json"
    assert ("cc278-special approval-area: rule.json has in_favour/participating area ≥ 1/2, the rule has "
            "in_favour/participating area ≥ 3/4 (民法典第278条第二款") in check.detail
    assert "approval-owners" in check.detail
    flipped = json.loads(json.dumps(stated))
    flipped[1]["approval"][0]["threshold"]["inclusive"] = True  # "过半数" read as "半数以上"
    del flipped[1]["quorum"][1]
    detail = standalone.check_rules(flipped, streams).detail
    assert "cc278-ordinary approval-area: rule.json has in_favour/participating area ≥ 1/2, the rule has " \
           "in_favour/participating area > 1/2" in detail
    assert "quorum condition quorum-owners (participating/eligible owners ≥ 2/3) is missing" in detail
    unknown = standalone.check_rules([*stated, dict(stated[0], id="cc278-lenient")], streams)
    assert not unknown.ok and "rule 'cc278-lenient', which this verifier does not know" in unknown.detail
    rule_id = streams["d"][0]["payload"]["rule_id"]
    missing = standalone.check_rules([r for r in stated if r["id"] != rule_id], streams)
    assert not missing.ok and f"d seq 1 opens a box under rule '{rule_id}', which rule.json does not" in missing.detail


def test_a_box_under_a_rule_the_verifier_does_not_know_cannot_be_recounted() -> None:
    rows = random_rows(5)
    rows[0]["payload"]["rule_id"] = "cc278-lenient"
    check = standalone.check_recount("d", rows, [])
    assert not check.ok and check.seq == 1 and "'cc278-lenient' is not one this verifier knows" in check.detail
