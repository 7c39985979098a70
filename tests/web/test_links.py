"""Personal links: hashed storage, idempotent issue, reissue, and `yishi links` as CSV and QR sheets."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import os
import re
import sys
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import zxingcpp
from PIL import Image

from domain.roll import Roll, Room
from yishi.services.link_issuing import Actor, disclose_links, issue_links, reissue_link
from yishi.services.links import (
    LinkKeyChangedError,
    RevokedLinkError,
    UnknownLinkError,
    resolve_link,
    token_hash,
)

SECRET = "test-secret-key-for-web-tests-0123456789"  # the web conftest's settings
BASE_URL = "http://testserver"

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


async def test_tokens_are_long_random_and_stored_only_hashed(pool, open_deliberation) -> None:
    d = await open_deliberation(3)
    tokens = list(d.tokens.values())
    assert len(set(tokens)) == 3 and all(len(t) == 43 for t in tokens)  # 256 bits, base64url
    async with pool.acquire() as conn:
        rows = [dict(r) for r in await conn.fetch("SELECT * FROM links WHERE deliberation_id = $1", d.id)]
    dump = repr(rows)
    assert not any(t in dump for t in tokens), "a plain token must never be stored"
    assert {r["token_hash"] for r in rows} == {token_hash(t) for t in tokens}


ACTOR = Actor("committee:王", "console")


async def shown(store, deliberation_id: str, owners: list[str], secret_key: str = SECRET) -> dict[str, str]:  # type: ignore[no-untyped-def]
    links = await disclose_links(store, deliberation_id, owners, secret_key=secret_key, now=NOW, actor=ACTOR,
                                 fmt="csv")
    return {link.owner_id: link.token for link in links}


async def test_issue_is_idempotent_and_reissue_stops_the_old_link(pool, store, open_deliberation) -> None:
    d = await open_deliberation(3)
    again = await issue_links(store, d.id, d.owners, secret_key=SECRET, now=NOW, actor=ACTOR)
    assert (again.issued, again.live) == (0, 3)
    assert await shown(store, d.id, d.owners) == d.tokens, "re-running must not change printed links"
    generation = await reissue_link(store, d.id, "o001", secret_key=SECRET, now=NOW, actor=ACTOR)
    assert generation == 2
    with pytest.raises(RevokedLinkError):
        await resolve_link(pool, d.tokens["o001"])
    new_token = (await shown(store, d.id, ["o001"]))["o001"]
    holder = await resolve_link(pool, new_token)
    assert (holder.owner_id, holder.generation) == ("o001", 2)
    assert (await issue_links(store, d.id, d.owners, secret_key=SECRET, now=NOW, actor=ACTOR)).issued == 0
    after = await shown(store, d.id, d.owners)
    assert after["o001"] == new_token and after["o000"] == d.tokens["o000"]
    with pytest.raises(UnknownLinkError):
        await resolve_link(pool, "x" * 43)


async def test_a_changed_secret_key_refuses_to_print_dead_links(pool, store, open_deliberation) -> None:
    d = await open_deliberation(2)
    head = await store.head(d.id)
    with pytest.raises(LinkKeyChangedError):
        await shown(store, d.id, d.owners, secret_key="another-key")
    assert await store.head(d.id) == head, "nothing shown, nothing recorded"
    assert (await resolve_link(pool, d.tokens["o000"])).owner_id == "o000"  # printed links still work


async def run_cli(database_url: str, *args: str, base_url: str = BASE_URL) -> tuple[int, str, str]:
    env = {**os.environ, "YISHI_DATABASE_URL": database_url, "YISHI_SECRET_KEY": SECRET,
           "YISHI_PUBLIC_BASE_URL": base_url, "YISHI_LOG_JSON": "false"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from yishi.cli.links import links; links()", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


def tricky_roll() -> Roll:
    rows = [("1-1-101", "1", "1", "=HYPERLINK(\"http://evil\")"), ("1-1-102", "1", "1", "+86138"),
            ("1-2-201", "1", "2", "@sum"), ("2-1-101", "2", "1", "-5"), ("2-1-102", "2", "1", "王芳")]
    return Roll(rooms=tuple(
        Room(room_id=room, building=b, entrance=e, floor=room[-3], area_m2=Decimal("88.5"), owner_id=owner)
        for room, b, e, owner in rows))


async def test_cli_csv_lists_every_owner_with_neutralised_cells(database_url, open_deliberation) -> None:
    d = await open_deliberation(roll=tricky_roll())
    code, out, err = await run_cli(database_url, d.id, "--format", "csv")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["owner_id", "rooms", "url"]
    by_owner = {row[0]: row for row in rows[1:]}
    assert set(by_owner) == {"'=HYPERLINK(\"http://evil\")", "'+86138", "'@sum", "'-5", "王芳"}
    assert by_owner["'-5"][2] == f"{BASE_URL}/v/{d.tokens['-5']}"
    assert by_owner["王芳"][1] == "2-1-102"
    _, second, _ = await run_cli(database_url, d.id)
    assert second == out, "re-running prints the same links"


def decode_qr_codes(html: str) -> list[str]:
    found = []
    for data in re.findall(r'src="data:image/png;base64,([^"]+)"', html):
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        # QR codes only: with every format on, a stripe of a QR code now and then reads as a 1-D barcode ("1790").
        found.extend(result.text for result in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode))
    return found


async def test_cli_html_sheets_qr_codes_decode_to_the_links(database_url, open_deliberation, tmp_path) -> None:
    d = await open_deliberation(12)
    target = tmp_path / "sheets.html"
    code, _, err = await run_cli(database_url, d.id, "--format", "html", "-o", str(target))
    assert code == 0, err
    html = target.read_text(encoding="utf-8")
    expected = sorted(f"{BASE_URL}/v/{token}" for token in d.tokens.values())
    assert sorted(decode_qr_codes(html)) == expected
    entrances = re.findall(r'data-building="(\w+)" data-entrance="(\w+)"', html)
    assert entrances == [("1", "1"), ("1", "2"), ("2", "1"), ("2", "2")]
    assert "加装电梯方案已在一楼公告栏张贴" in html and "投票截止" in html and "@page { size: A4" in html
    for url in expected:
        assert url in html  # the short URL printed under each code


def sheets_of(html: str) -> list[str]:
    return html.split("<section")[1:]


async def test_cli_sheets_are_chinese_unless_english_is_asked(database_url, open_deliberation) -> None:
    d = await open_deliberation(12)
    code, chinese, err = await run_cli(database_url, d.id, "--format", "html")
    assert code == 0, err
    assert "投票截止" in chinese and "仅限本户业主使用" in chinese
    english_only = ("Voting closes", "notice to owners", "personal to this household", "Scan your household")
    assert not any(text in chinese for text in english_only)
    assert "address-warning" not in chinese.split("</style>")[1], "a public address is set: no warning"
    _, both, _ = await run_cli(database_url, d.id, "--format", "html", "--english")
    assert all(text in both for text in english_only) and "投票截止" in both


async def test_cli_sheets_for_a_local_address_carry_a_red_warning(database_url, open_deliberation) -> None:
    d = await open_deliberation(12)
    code, html, err = await run_cli(database_url, d.id, "--format", "html", base_url="http://127.0.0.1:8000")
    assert code == 0 and "是本机地址" in err and "owners' phones cannot open these links" in err
    sheets = sheets_of(html)
    assert len(sheets) == 4 and all('data-warning="local"' in sheet and "请勿张贴" in sheet for sheet in sheets)
    assert ".address-warning { color: #c00" in html and "@media print" not in html, "printed, in red"


async def test_cli_reissue_prints_only_the_new_link(database_url, pool, open_deliberation) -> None:
    d = await open_deliberation(3)
    code, out, err = await run_cli(database_url, d.id, "--reissue", "o002")
    assert code == 0, err
    (row,) = list(csv.reader(io.StringIO(out)))[1:]
    new_token = row[2].rsplit("/", 1)[1]
    assert row[0] == "o002" and new_token != d.tokens["o002"]
    assert (await resolve_link(pool, new_token)).generation == 2
    bad, _, err = await run_cli(database_url, "no-such-deliberation")
    assert bad == 2 and "no open ballot box" in err


async def test_links_are_issued_and_shown_in_batches_recorded_as_one_act(store, open_deliberation) -> None:
    """A roll of any size goes through: one transaction per batch (issue 18: 1,000,000 owners died in one statement
    under the 30 s timeout), progress after each, and the parts of all batches numbered as one act."""
    from domain.link_events import LINK_EVENT_TYPES, fold_links, link_event_from_dict

    d = await open_deliberation(1203, links=False)
    seen: list[tuple[int, int]] = []
    summary = await issue_links(store, d.id, d.owners, secret_key=SECRET, now=NOW, actor=ACTOR,
                                progress=lambda done, total: seen.append((done, total)), batch=500)
    assert (summary.issued, summary.live) == (1203, 1203)
    assert seen == [(500, 1203), (1000, 1203), (1203, 1203)]
    stored = [e for e in await store.read(d.id) if e.type == "LinksIssued"]
    assert [(e.payload["part"], e.payload["parts"]) for e in stored] == [(1, 3), (2, 3), (3, 3)]
    assert len({e.recorded_at for e in stored}) == 3, "one transaction per batch"
    shown_seen: list[tuple[int, int]] = []
    links = await disclose_links(store, d.id, None, secret_key=SECRET, now=NOW, actor=ACTOR, fmt="csv",
                                 progress=lambda done, total: shown_seen.append((done, total)), batch=500)
    assert [link.owner_id for link in links] == sorted(d.owners) and shown_seen[-1] == (1203, 1203)
    ledger = fold_links((e.seq, link_event_from_dict(e.type, e.payload))
                        for e in await store.read(d.id) if e.type in LINK_EVENT_TYPES)
    assert ledger.issued_batches == 1 and ledger.made[("o000", 1)].households == 1203
    assert [(a.kind, a.households) for a in ledger.acts] == [("disclosed", 1203)]
    again = await issue_links(store, d.id, d.owners, secret_key=SECRET, now=NOW, actor=ACTOR, batch=500)
    assert (again.issued, again.live) == (0, 1203)
    with pytest.raises(LinkKeyChangedError):
        await disclose_links(store, d.id, None, secret_key="another-key", now=NOW, actor=ACTOR, fmt="csv", batch=500)
    assert ledger.acts == fold_links((e.seq, link_event_from_dict(e.type, e.payload)) for e in await store.read(d.id)
                                     if e.type in LINK_EVENT_TYPES).acts, "a changed key records no batch at all"
