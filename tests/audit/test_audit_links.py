"""Issue 17, item 6, for auditors: `yishi audit verify`, the export and the standalone verifier list what staff did
to the personal links (reissues and the ballots cast through them, every showing of live links) and fail on a
ballot whose link the chain never recorded; link events change no count."""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import random
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from audit_helpers import VERIFIER, WITHDRAWN, _wait_open, audit_roll, now, run_standalone, spec
from temporalio.client import Client
from temporalio.worker import Worker
from test_audit_standalone import T0, random_rows

from activities.eventstore import EventStore
from activities.registry import build_activities
from domain.link_events import IssuedEntry, LinkReissued, LinksIssued, LiveLinksDisclosed
from workflows.registry import WORKFLOWS
from yishi.services.audit import export, verify
from yishi.services.audit_checks import recount
from yishi.services.audit_links import link_audit
from yishi.services.deliberations import start_vote
from yishi.services.link_issuing import Actor, disclose_links, issue_links, reissue_link
from yishi.services.links import derive_token, new_row, resolve_link
from yishi.services.voting import cast_ballot
from yishi.settings import Settings

_spec = importlib.util.spec_from_file_location("verify_export", VERIFIER)
assert _spec is not None and _spec.loader is not None
standalone: Any = sys.modules.setdefault("verify_export", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(standalone)

SECRET = "audit-links-secret-key-0123456789abcdef"
CLERK = Actor("张三", "console")


async def _vote_with_links(client: Client, pool: Any, store: EventStore, queue: str, *, behind_the_chain: bool) -> str:
    """A vote whose links are issued, printed, one reissued and printed again; ballots through both kinds. With
    ``behind_the_chain`` an operator also writes a link straight into the ``links`` table and votes with it."""
    did, handle = await start_vote(client, pool, audit_roll(), spec(), task_queue=queue,
                                   checkpoint_every=timedelta(seconds=1))
    await _wait_open(store, did)
    owners = [f"O{f}{u}" for f in range(1, 7) for u in (1, 2)]
    await issue_links(store, did, owners, secret_key=SECRET, now=now(), actor=CLERK)
    printed = {link.owner_id: link for link in await disclose_links(store, did, None, secret_key=SECRET, now=now(),
                                                                    actor=CLERK, fmt="sheets")}
    await reissue_link(store, did, "O21", secret_key=SECRET, now=now(), actor=CLERK, reason="slip taken")
    (again,) = await disclose_links(store, did, ["O21"], secret_key=SECRET, now=now(), actor=CLERK, fmt="sheet")
    for owner, token, choice in (("O11", printed["O11"].token, "for"), ("O21", again.token, "against")):
        holder = await resolve_link(pool, token)
        await cast_ballot(store, did, owner, choice, idempotency_key=f"t-{owner}", now=now(), link=holder)
    if behind_the_chain:
        async with pool.acquire() as conn:
            nonce, digest = new_row(SECRET, did, "O12", 2)
            await conn.execute("UPDATE links SET revoked_at = now() WHERE deliberation_id = $1 AND owner_id = 'O12'"
                               " AND revoked_at IS NULL", did)
            await conn.execute("INSERT INTO links (deliberation_id, owner_id, generation, nonce, token_hash, issued_at)"
                               " VALUES ($1, 'O12', 2, $2, $3, now())", did, nonce, digest)
        holder = await resolve_link(pool, derive_token(SECRET, did, "O12", 2, nonce))
        await cast_ballot(store, did, "O12", "for", idempotency_key="t-O12", now=now(), link=holder)
    await handle.signal("withdraw", WITHDRAWN)
    await handle.result()
    return did


async def test_verify_and_the_standalone_verifier_list_ballots_through_reissued_links(
        temporal_client: Client, pool: Any, store: EventStore, tmp_path: Path) -> None:
    queue = f"audit-links-{uuid.uuid4().hex[:8]}"
    worker = Worker(temporal_client, task_queue=queue, workflows=WORKFLOWS,
                    activities=build_activities(store, pool, Settings(task_queue=queue)))
    async with worker:
        clean, forged = await asyncio.gather(
            _vote_with_links(temporal_client, pool, store, queue, behind_the_chain=False),
            _vote_with_links(temporal_client, pool, store, queue, behind_the_chain=True))

    report = await verify(clean, pool=pool, client=temporal_client)
    assert report.ok, [c for c in report.checks if not c.ok]
    (check,) = [c for c in report.checks if c.name == "links"]
    assert "12 links issued, 1 reissued and 0 revoked by staff; 1 ballots cast through a reissued link" in check.detail
    (ballot,) = report.links["reissued_ballots"]
    assert (ballot["owner_id"], ballot["link_generation"], ballot["reissued_by"]) == ("O21", 2, "张三")
    assert [(r["owner_id"], r["reason"]) for r in report.links["reissues"]] == [("O21", "slip taken")]
    assert [(d["format"], d["households"], d["by"]) for d in report.links["disclosures"]] == [
        ("sheets", 12, "张三"), ("sheet", 1, "张三")]

    await export(clean, tmp_path / "clean", pool=pool, client=temporal_client)
    code, outside = await asyncio.to_thread(run_standalone, tmp_path / "clean")
    assert code == 0 and outside["ok"], outside
    assert outside["links"]["reissued_ballots"] == [ballot]
    assert outside["links"]["disclosures"] == report.links["disclosures"]

    tampered = await verify(forged, pool=pool, client=temporal_client)
    failed = [c for c in tampered.checks if not c.ok]
    assert [c.name for c in failed] == ["links"], failed
    assert "owner O12 came through generation 2 of O12's link, which no LinksIssued or LinkReissued" in failed[0].detail
    await export(forged, tmp_path / "forged", pool=pool, client=temporal_client)
    code, outside = await asyncio.to_thread(run_standalone, tmp_path / "forged")
    bad = [c for c in outside["checks"] if not c["ok"]]
    assert code == 1 and [(c["name"], c["seq"]) for c in bad] == [("links", failed[0].seq)]


def _with_links(seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A random sealed stream (test_audit_standalone) and the same with links: issued in two parts, printed in two,
    one reissued; each online ballot names the generation its holder's link had when it was cast."""
    rng = random.Random(seed)
    plain = random_rows(seed)
    ballots = [r["payload"] for r in plain if r["type"] == "BallotCast"]
    owners = sorted({b["owner_id"] for b in ballots} | {b["cast_by"] for b in ballots if b.get("cast_by")} | {"o0"})
    entries = [IssuedEntry(owner_id=o, generation=1, token_hash=f"{n:064x}") for n, o in enumerate(owners)]
    half = len(entries) // 2 or 1
    by = dict(at=T0, by="张三", via="console")
    links: list[Any] = [LinksIssued(links=tuple(entries[:half]), part=1, parts=2, **by),
                        LinksIssued(links=tuple(entries[half:]), part=2, parts=2, **by),
                        LiveLinksDisclosed(format="csv", owners=tuple(owners[:half]), part=1, parts=2, **by),
                        LiveLinksDisclosed(format="csv", owners=tuple(owners[half:]), part=2, parts=2, **by)]
    reissued = rng.choice(owners)
    rows = copy.deepcopy(plain[:1]) + [{"stream_id": "d", "type": e.type, "payload": e.model_dump(mode="json")}
                                       for e in links]
    generation = dict.fromkeys(owners, 1)
    for n, row in enumerate(copy.deepcopy(plain[1:])):
        if n == len(plain) // 3:
            generation[reissued] = 2
            event = LinkReissued(owner_id=reissued, generation=2, token_hash="f" * 64, revoked_generation=1, **by)
            rows.append({"stream_id": "d", "type": event.type, "payload": event.model_dump(mode="json")})
        payload = row["payload"]
        if row["type"] == "BallotCast" and payload.get("channel", "online") == "online":
            holder = payload.get("cast_by") or payload["owner_id"]
            payload["link_generation"] = generation.get(holder, 1)
        rows.append(row)
    for n, row in enumerate(rows, 1):
        row["seq"] = n
    return plain, rows


def test_link_events_change_no_count_and_both_verifiers_list_the_same_acts() -> None:
    reissued_seen = 0
    for seed in range(60):
        plain, rows = _with_links(seed)
        assert recount(rows).results == recount(plain).results
        assert standalone.recount(rows)[0] == standalone.recount(plain)[0]
        mine, section = link_audit("d", {"d": rows})
        theirs, outside = standalone.check_links("d", {"d": rows})
        assert mine.ok and theirs.ok and mine.detail == theirs.detail
        for key in ("reissues", "disclosures", "reissued_ballots", "untraced_ballots"):
            assert section[key] == outside[key], (seed, key)
        assert [d["households"] for d in section["disclosures"]] == [section["issued"]]
        reissued_seen += bool(section["reissued_ballots"])
        forged = copy.deepcopy(rows)
        ballot = next((r for r in forged if r["payload"].get("link_generation")), None)
        if ballot is None:
            continue
        ballot["payload"]["link_generation"] = 7  # a link no event issued
        mine, _ = link_audit("d", {"d": forged})
        theirs, _ = standalone.check_links("d", {"d": forged})
        assert not mine.ok and not theirs.ok and mine.seq == theirs.seq == ballot["seq"]
    assert reissued_seen >= 10


def test_an_old_stream_without_link_events_is_not_checked() -> None:
    rows = random_rows(3)
    assert link_audit("d", {"d": rows})[0].ok and standalone.check_links("d", {"d": rows})[0].ok
    _, section = link_audit("d", {"d": rows})
    assert section["issued"] == 0 and section["reissued_ballots"] == [] and section["disclosures"] == []
