"""One result, the same figures on every surface (issue 18): the summary service, `yishi status` (JSON and text),
the audit export's summary.json, and `yishi tally` on the same roll and ballots."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from activities.eventstore import EventStore
from domain.result_summary import ResultSummary, summarize, summary_lines
from domain.rules import get_rule
from domain.tally_result import TallyResult
from yishi.cli.deliberation import status
from yishi.cli.tally import tally
from yishi.services.audit import read_rows, summary_document
from yishi.services.procedures import procedure_status
from yishi.services.results import summaries
from yishi.services.voting import cast_ballot
from yishi.settings import get_settings

CHOICES = ("for", "for", "against", "abstain", "for")


async def test_every_surface_shows_the_same_figures(pool, store: EventStore, open_deliberation, seal, tmp_path,
                                                    monkeypatch, database_url: str) -> None:
    d = await open_deliberation(23, rule_id="cc278-special", paper_entry="PT1H")
    now = datetime.now(UTC)
    rows = ["owner_id,choice,channel,cast_at"]
    for n, owner in enumerate(d.owners[:19]):
        channel = "paper" if n % 4 == 0 else "online"
        at = now - timedelta(minutes=1)
        await cast_ballot(store, d.id, owner, CHOICES[n % 5], idempotency_key=f"s-{n}", now=now, channel=channel,
                          paper_ref=f"P{n}" if channel == "paper" else None, cast_at=at)
        rows.append(f"{owner},{CHOICES[n % 5]},{channel},{at.isoformat()}")
    await cast_ballot(store, d.id, d.owners[0], "against", idempotency_key="s-online-over-paper", now=now)
    rows.append(f"{d.owners[0]},against,online,{now.isoformat()}")
    await seal(d.id)

    (service,) = await summaries(store, d.id)
    assert service.sealed and service.head is not None and service.by_channel is not None
    assert (service.by_channel.online_owners, service.by_channel.paper_owners) == (15, 4)

    status_doc = await procedure_status(store, d.id)
    assert [ResultSummary.model_validate(s) for s in status_doc["result"]] == [service]

    exported = summary_document(d.id, {d.id: await read_rows(pool, d.id)})
    assert [ResultSummary.model_validate(s) for s in exported["boxes"][0]["summaries"]] == [service]

    # `yishi tally` on the same roll and ballots: the same figures (it knows no channel split and no head)
    roll_file, ballots_file = tmp_path / "roll.csv", tmp_path / "ballots.csv"
    roll_file.write_text("room_id,building,entrance,floor,area_m2,owner_id,owner_name,phone\n" + "\n".join(
        f"{r.room_id},{r.building},{r.entrance},{r.floor},{r.area_m2},{r.owner_id},{r.owner_name},{r.phone}"
        for r in d.roll.rooms) + "\n", encoding="utf-8")
    ballots_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    counted = await asyncio.to_thread(CliRunner().invoke, tally, [
        "--roll", str(roll_file), "--ballots", str(ballots_file), "--rule", "cc278-special", "--json"])
    assert counted.exit_code == 0, counted.output
    from_cli = summarize(TallyResult.model_validate(json.loads(counted.output)), get_rule("cc278-special"),
                         sealed=True)
    assert from_cli.cast == service.cast and from_cli.outcome == service.outcome

    monkeypatch.setenv("YISHI_DATABASE_URL", database_url)
    monkeypatch.setenv("YISHI_PUBLIC_BASE_URL", "https://yishi.example.cn")
    get_settings.cache_clear()
    try:
        as_json = await asyncio.to_thread(CliRunner().invoke, status, [d.id, "--json"])
        as_text = await asyncio.to_thread(CliRunner().invoke, status, [d.id])
    finally:
        get_settings.cache_clear()
    assert as_json.exit_code == 0, as_json.output
    doc = json.loads(as_json.output[as_json.output.index("{"):])
    assert doc["public_url"] == f"https://yishi.example.cn/p/{d.id}"
    assert [ResultSummary.model_validate(s) for s in doc["result"]] == [service]
    for line in summary_lines(service, "zh"):
        assert line in as_text.output.splitlines(), line
