"""`yishi channels`: the set-up without SQL (secrets by name only), the board and the posting of a printed notice."""

from __future__ import annotations

import asyncio
import json

from click.testing import CliRunner

from domain.channel_config import stream_id
from tests.channels.test_mail_webhook_print import PNG
from yishi.cli.channels import channels
from yishi.settings import get_settings


async def invoke(*args: str):  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(CliRunner().invoke, channels, list(args))


async def test_set_up_list_opt_out_board_and_posting(stage, monkeypatch, database_url, tmp_path) -> None:
    monkeypatch.setenv("YISHI_DATABASE_URL", database_url)
    monkeypatch.delenv("YISHI_SECRETS__WECOM__BLDG_3", raising=False)
    get_settings.cache_clear()
    c = ("--community", stage.community)
    try:
        added = await invoke("set", "wecom:bldg-3", "--secret-ref", "bldg-3", "--group", "3", "--by", "王主任", *c)
        assert added.exit_code == 0, added.output
        assert "YISHI_SECRETS__WECOM__BLDG_3" in added.output, "the missing secret is named, not asked for"
        sms = await invoke("set", "sms:aliyun", "--secret-ref", "main", "--sign-name", "幸福社区", "--template",
                           "*=SMS_460001:title=title,time=deadline,url=link", "--urgent", "reminder", "--by", "王主任",
                           *c)
        assert sms.exit_code == 0, sms.output
        bad = await invoke("set", "wecom:Bad Name", "--by", "王主任", *c)
        assert bad.exit_code == 2 and "wecom:NAME" in bad.output, bad.output
        assert (await invoke("opt-out", "O311", "--by", "王主任", *c)).exit_code == 0
        listed = json.loads((await invoke("list", "--json", *c)).output)
        assert [ch["id"] for ch in listed["channels"]] == ["wecom:bldg-3", "sms:aliyun"]
        assert listed["channels"][1]["templates"]["*"]["params"] == {"title": "title", "time": "deadline",
                                                                     "url": "link"}
        assert listed["opted_out"] == 1 and listed["quiet"] == {"start": "22:00", "end": "08:00"}
        events = await stage.store.read(stream_id(stage.community))
        assert [e.type for e in events] == ["ChannelSet", "ChannelSet", "OwnerOptedOut"]
        notice = await stage.queue("print", kind="result")
        board = await invoke("board", stage.deliberation_id)
        assert "to_post" in board.output and "3-2" in board.output and "4-2" in board.output
        photo = tmp_path / "posted.png"
        photo.write_bytes(PNG)
        posted = await invoke("posted", stage.deliberation_id, notice.notice_id, "3-2", "--photo", str(photo),
                              "--by", "网格员李")
        assert posted.exit_code == 0 and "sha256" in posted.output, posted.output
        after = json.loads((await invoke("board", stage.deliberation_id, "--json")).output)
        assert {(r["group"], r["state"]) for r in after} == {("3-2", "posted"), ("4-2", "to_post")}
    finally:
        get_settings.cache_clear()
