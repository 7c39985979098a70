"""A wrong rule in the system (issue 15, item 5): the code counts cc278-special with approval ≥ 1/2 instead of the
statute's ≥ 3/4, and six of ten owners vote for. Yishi's own verifier agrees with itself; the standalone verifier,
which carries the rules by id, fails the export on ``rules`` and ``recount``."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from fractions import Fraction
from typing import Any

from audit_helpers import WITHDRAWN, Vote, _wait_open, apply, audit_roll, now, run_standalone, spec
from temporalio.worker import Worker
from test_audit_tamper import check

from activities.registry import build_activities
from domain.commands import CastBallot
from domain.rules import RULES, _approval
from workflows.registry import WORKFLOWS
from yishi.services.audit import export, verify
from yishi.services.deliberations import start_vote
from yishi.settings import Settings

FOR = ("O11", "O12", "O21", "O22", "O31", "O32")  # 6 of the 10 who vote: 60 % of owners, about 59 % of area
AGAINST = ("O41", "O42", "O51", "O52")


async def vote_under_the_wrong_rule(client: Any, pool: Any, store: Any) -> Vote:
    settings = Settings(task_queue=f"audit-rule-{uuid.uuid4().hex[:8]}")
    async with Worker(client, task_queue=settings.task_queue, workflows=WORKFLOWS,
                      activities=build_activities(store, pool, settings)):
        did, handle = await start_vote(client, pool, audit_roll(), spec(), task_queue=settings.task_queue,
                                       checkpoint_every=timedelta(seconds=1))
        await _wait_open(store, did)
        for owner in (*FOR, *AGAINST):
            choice = "for" if owner in FOR else "against"
            await apply(store, did, CastBallot(owner_id=owner, choice=choice, cast_at=now()))
        await handle.signal("withdraw", WITHDRAWN)
        return Vote(did, await handle.result())


async def test_a_wrong_rule_in_the_system_fails_the_standalone_verifier(
    temporal_client, pool, store, tmp_path, monkeypatch
) -> None:
    wrong = RULES["cc278-special"].model_copy(update={"approval": _approval(Fraction(1, 2), True)})
    monkeypatch.setitem(RULES, "cc278-special", wrong)  # the worker runs in this process: it counts with this
    vote = await vote_under_the_wrong_rule(temporal_client, pool, store)
    assert vote.result.outcome.results["main"]["outcome"] == "approved", "approved only under ≥ 1/2"
    report = await verify(vote.id, pool=pool, client=temporal_client)
    assert report.ok, "the system checks itself with its own wrong rule: that is why the export's verifier must not"
    out = tmp_path / "export"
    await export(vote.id, out, pool=pool, client=temporal_client)
    stated = json.loads((out / "rule.json").read_text())["rules"]
    assert stated[0]["approval"][0]["threshold"] == {"fraction": "1/2", "inclusive": True}, "rule.json agrees"

    code, result = run_standalone(out)
    assert code == 1 and not result["ok"]
    rules = check(result["checks"], "rules")
    assert not rules["ok"] and rules["subject"] == "rule.json"
    assert "cc278-special approval-area: rule.json has in_favour/participating area ≥ 1/2, the rule has " \
           "in_favour/participating area ≥ 3/4 (民法典第278条第二款" in rules["detail"]
    recount = check(result["checks"], "recount")
    assert not recount["ok"] and "≥ 3/4 (not met)" in recount["detail"] and "≥ 1/2 (met)" in recount["detail"]
    assert recount["seq"] == vote.result.outcome.head.seq, "the sealed head: the recorded result"
    passing = {c["name"] for c in result["checks"] if c["ok"]}
    assert {"manifest", "chain", "checkpoints", "sealed_head", "after_seal", "roll"} <= passing, "only the rule"
