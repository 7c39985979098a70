"""A deliberation end to end with the channels listening (issue 18, "done means", the backend half): a WeCom
receiver per building, an SMS gateway and an SMTP server. The notice and the result reach the right building's
group and the right owners, the printed result is to be posted at the right entrance (its A4 sheet carries the
figures and the QR code of the public page) and its posting is recorded, and the published figures, on the public
page and on the sheet, are those of `yishi tally` on the same roll and ballots."""

from __future__ import annotations

import asyncio
import html
import json
import urllib.parse
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import httpx
from click.testing import CliRunner
from pydantic import SecretStr

from activities.dispatcher import NoticeDispatcher
from activities.notices import NoticeSettings
from activities.secrets import ChannelSecrets
from domain.channel_config import Channel, QuietHours, SmsTemplate
from domain.result_summary import summarize, summary_lines
from domain.roll import Scope
from domain.rules import get_rule
from domain.tally_result import TallyResult
from tests.channels.conftest import stage_roll
from tests.channels.servers import Behaviour, http_server, smtp_server
from tests.channels.test_mail_webhook_print import PNG
from tests.web.conftest import PASSWORD, form_fields
from tests.web.test_links import decode_qr_codes
from tests.workflows.conftest import advance_until, cast, complete, running_worker, stage_is, wait_box_open, wait_for
from yishi.cli.tally import tally
from yishi.services.accounts import add_account
from yishi.services.channels import record_posting, set_channel, set_quiet_hours, to_post
from yishi.services.procedures import StartRequest, start_procedure
from yishi.services.results import summaries
from yishi.settings import Settings
from yishi.web.app import create_app

PUBLIC = "https://yishi.example.cn"
SECRETS = ChannelSecrets({"YISHI_SECRETS__WECOM__BLDG_3": "k3", "YISHI_SECRETS__WECOM__BLDG_4": "k4",
                          "YISHI_SECRETS__SMS__MAIN": "LTAIe2e:e2e-secret"})


async def set_up(store, community: str) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    for channel in (Channel(id="wecom:bldg-3", kind="wecom", secret_ref="bldg-3", groups=("3",)),
                    Channel(id="wecom:bldg-4", kind="wecom", secret_ref="bldg-4", groups=("4",)),
                    Channel(id="sms:aliyun", kind="sms", provider="aliyun", secret_ref="main", sign_name="幸福社区",
                            kinds=("consultation", "result"), templates={"*": SmsTemplate(
                                code="SMS_460001", params={"title": "title", "url": "link"})}),
                    Channel(id="email:staff", kind="email", to=("committee@example.cn",))):
        assert await set_channel(store, community, channel, by="王主任", now=now, secrets=SECRETS) == []
    await set_quiet_hours(store, community, QuietHours(start="00:00", end="00:00"), by="王主任", now=now)


def sms_phones(server) -> list[list[str]]:  # type: ignore[no-untyped-def]
    forms = [dict(urllib.parse.parse_qsl(r.body.decode())) for r in server.received if r.path == "/"]
    return [f["PhoneNumbers"].split(",") for f in forms]


async def test_notice_and_result_reach_the_right_groups_and_owners(ts_env, stage, store, pool, task_queue,
                                                                  tmp_path) -> None:
    await set_up(store, stage.community)
    roll = stage_roll()
    owners = [f"O3{f}{u}" for f in range(1, 7) for u in (1, 2)]
    votes = {o: "for" for o in owners[1:10]} | {owners[10]: "against", owners[11]: "abstain"}
    req = StartRequest(procedure="elevator", title="3栋2单元加装电梯", scope=Scope(building="3", entrance="2"),
                       community=stage.community, initiator_role="owner", initiated_by="O361",
                       periods={"checkpoint": "P5D", "paper_entry": "PT0S"},
                       options={"cost_total": Decimal("600000.00")})
    behaviour = Behaviour(keys={"k3": "", "k4": "", "LTAIe2e": "e2e-secret"})
    with http_server(behaviour) as server, smtp_server(tmp_path, "yishi", "pw") as (port, mails, cert):
        settings = NoticeSettings(wecom_url=f"{server.url}/cgi-bin/webhook/send", aliyun_sms_url=f"{server.url}/",
                                  smtp_host="127.0.0.1", smtp_port=port, smtp_user="yishi", smtp_password="pw",
                                  smtp_ca_file=cert)
        async with running_worker(ts_env, store, pool, task_queue):
            did, handle = await start_procedure(ts_env.client, pool, roll, req, task_queue=task_queue)
            dispatcher = NoticeDispatcher(store, pool, settings, SECRETS, public_base_url=PUBLIC, only=did)
            await complete(handle, "feasibility", "street_office", "feasible", note="结构安全")
            await wait_for(handle, stage_is("voting"), "voting")
            await dispatcher.run_once()
            assert [r.query["key"] for r in server.received if r.path.endswith("/send")] == ["k3"]
            assert sms_phones(server) == [[f"1380000{o[1:]}0" for o in owners]], "the 12 owners of 3-2, once"
            await wait_box_open(store, did)
            at = await ts_env.get_current_time()
            for owner, choice in votes.items():
                await cast(store, did, owner, choice, at)
            await advance_until(ts_env, handle, stage_is("cost_sharing"), "the vote counted")
            await dispatcher.run_once()
            await handle.terminate("test done")
        await dispatcher.aclose()
    robot = [r.json()["markdown"]["content"] for r in server.received if r.query.get("key") == "k3"]
    assert any(text.startswith("## 3栋2单元加装电梯表决结果") for text in robot), robot
    assert not [r for r in server.received if r.query.get("key") == "k4"], "building 4's group hears nothing"
    assert len(sms_phones(server)) == 2 and all(len(p) == 12 for p in sms_phones(server))
    assert any("表决结果" in m.content.decode("utf-8", "replace") or "=?utf-8?" in m.content.decode()
               for m in mails) and len(mails) >= 2

    rows = await to_post(pool, did)
    result_sheet = next(r for r in rows if r.notice_kind == "result")
    assert (result_sheet.group, result_sheet.state) == ("3-2", "to_post")
    await record_posting(store, pool, did, result_sheet.notice_id, "3-2", by="网格员李", posted_at=datetime.now(UTC),
                         photo=PNG, media_type="image/png", now=datetime.now(UTC))
    assert {(r.notice_kind, r.state) for r in await to_post(pool, did)} >= {("result", "posted")}

    (published,) = await summaries(store, did)
    assert published.sealed and published.cast.participating.owners == 11
    roll_file, ballots_file = tmp_path / "roll.csv", tmp_path / "ballots.csv"
    roll_file.write_text("room_id,building,entrance,floor,area_m2,owner_id,owner_name,phone\n" + "\n".join(
        f"{r.room_id},{r.building},{r.entrance},{r.floor},{r.area_m2},{r.owner_id},{r.owner_name},{r.phone}"
        for r in roll.rooms) + "\n", encoding="utf-8")
    ballots_file.write_text("owner_id,choice\n" + "\n".join(f"{o},{c}" for o, c in votes.items()) + "\n",
                            encoding="utf-8")
    counted = await asyncio.to_thread(CliRunner().invoke, tally, [
        "--roll", str(roll_file), "--ballots", str(ballots_file), "--rule", published.rule_id,
        "--scope", "building=3,entrance=2", "--json"])
    assert counted.exit_code == 0, counted.output
    from_cli = summarize(TallyResult.model_validate(json.loads(counted.output)), get_rule(published.rule_id),
                         sealed=True)
    assert from_cli.cast == published.cast and from_cli.outcome == published.outcome
    await on_the_web(pool, store, did, result_sheet.notice_id, from_cli)


async def on_the_web(pool, store, did: str, notice_id: str, from_cli) -> None:  # type: ignore[no-untyped-def]
    """The public page and the printed result sheet show exactly the lines of `yishi tally`'s figures."""
    assert len(summary_lines(from_cli, "zh")) >= 5, "the rule, the eligible, the participating, for/against, …"
    app = create_app(Settings(secret_key=SecretStr("e2e-web-key"), public_base_url=PUBLIC))
    app.state.pool, app.state.store = pool, store
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as web:
        for lang in ("zh", "en"):
            page = await web.get(f"/p/{did}?lang={lang}")
            assert page.status_code == 200, page.text[-600:]
            text = html.unescape(page.text)
            assert [line for line in summary_lines(from_cli, lang) if line not in text] == [], lang
        clerk = f"网格员-{uuid.uuid4().hex[:4]}"
        await add_account(pool, clerk, "grid_worker", PASSWORD, community=None)
        form = form_fields((await web.get("/login")).text, "/login")
        assert (await web.post("/login", data={**form, "name": clerk, "password": PASSWORD})).status_code == 303
        sheet = await web.get(f"/console/d/{did}/notices/{notice_id}/sheet")
        assert sheet.status_code == 200 and "@page { size: A4" in sheet.text, sheet.text[-600:]
        assert "style-src 'self' 'sha256-" in sheet.headers["Content-Security-Policy"], "its print CSS applies"
        text = html.unescape(sheet.text)
        assert [line for line in summary_lines(from_cli, "zh") if line not in text] == []
        assert decode_qr_codes(sheet.text) == [f"{PUBLIC}/p/{did}"], "the sheet's QR code opens the public page"
