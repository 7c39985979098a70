"""The start form's periods (issue 21 item 6): days, working days, a date or hours instead of P15D / 10wd / PT2H,
the date each period would end on shown on the form, on its "check the dates" step and live (GET
/console/new/periods), a rest day's move and the weekend-only fallback flagged. The clock is the app's, set here."""

from __future__ import annotations

import html
import re
import uuid
from datetime import datetime

from domain.legal_calendar import BEIJING
from tests.web.test_console_start import form_keys, post, registered

BEFORE_NATIONAL_DAY = datetime(2025, 9, 25, 10, 0, tzinfo=BEIJING)  # a Thursday; 1-8 October are holidays
FAR = datetime(2031, 5, 1, 9, 0, tzinfo=BEIJING)  # no State Council schedule for 2031 in the installed calendar


def ends(page: str, name: str) -> str:
    match = re.search(rf'id="period_{name}_ends"[^>]*>([^<]*)<', page)
    assert match, page[-400:]
    return html.unescape(match.group(1))


def warning(page: str, name: str) -> str:
    match = re.search(rf'id="period_{name}_warning"([^>]*)>([^<]*)<', page)
    assert match
    return "" if "hidden" in match.group(1) else html.unescape(match.group(2))


async def test_the_form_offers_units_and_shows_when_each_period_ends(app, sign_in) -> None:
    app.state.clock = lambda: BEFORE_NATIONAL_DAY
    committee = await sign_in("committee")
    form = (await committee.get("/console/new")).text
    assert "P15D" not in form and "10wd" not in form and "PT2H" not in form
    assert re.search(r'<select id="period_voting_unit"[^>]*>.*<option value="days" selected>天</option>', form, re.S)
    assert 'id="period_voting_n" name="period_voting_n"' in form and 'value="15"' in form
    assert ">个工作日</option>" in form and ">截至某日</option>" in form
    # 15 days from 25 September end on 10 October, a Friday after the National Day holiday: a working day.
    assert ends(form, "voting") == "如果此阶段现在开始，最后一天是2025年10月10日（北京时间当天24时截止）。"
    assert ends(form, "paper_entry") == "从投票截止时起算。"
    assert warning(form, "voting") == ""

    # The "check the dates" step: 7 days lands on 2 October, a holiday, and moves to 9 October; nothing starts.
    title = f"核对日期-{uuid.uuid4().hex[:6]}"
    fields = {**form_keys(form), "title": title, "building": "3", "proxy_limit": "3", "check": "1",
              "period_voting_n": "7", "period_voting_unit": "days",
              "period_notice_unit": "date", "period_notice_date": "2025-10-20"}
    checked = await post(committee, fields, None)
    assert checked.status_code == 200 and "尚未发起" in checked.text and "请选择业主名册文件" not in checked.text
    line = ends(checked.text, "voting")
    assert "最后一天是2025年10月9日" in line and "2025年10月2日是休息日或法定节假日，期限顺延至下一个工作日" in line
    assert "最后一天是2025年10月20日" in ends(checked.text, "notice")
    assert 'value="2025-10-20"' in checked.text and f'value="{title}"' in checked.text
    assert await registered(app.state.pool, title) == 0

    # A date that is not after today, a number that is not one: the form names the period and what to enter.
    bad = await post(committee, {k: v for k, v in {**fields, "period_voting_n": "七",
                                                   "period_notice_date": "2025-09-01"}.items() if k != "check"})
    assert bad.status_code == 422
    assert "投票期：“七”不是 0 到 3660 之间的整数" in bad.text
    assert "日期须在今天之后" in bad.text


async def test_the_live_lines_flag_a_year_counted_on_weekends_only(app, sign_in, client) -> None:
    app.state.clock = lambda: FAR
    committee = await sign_in("committee")
    lines = (await committee.get("/console/new/periods", params={
        "procedure": "elevator", "period_voting_n": "10", "period_voting_unit": "wd"})).json()
    assert lines["voting"]["ends"].startswith("如果此阶段现在开始，最后一天是2031年5月")
    assert "2031" in lines["voting"]["warning"] and "国务院" in lines["voting"]["warning"]
    assert lines["checkpoint"] == {"ends": "", "warning": ""}
    english = (await committee.get("/console/new/periods", params={
        "procedure": "elevator", "period_voting_n": "2", "period_voting_unit": "hours", "lang": "en"})).json()
    assert english["voting"]["ends"] == "If this stage started now, it would end at May 1, 2031, 11:00 (Beijing time)."
    form = (await committee.get("/console/new")).text
    assert "2031" in warning(form, "voting")
    # Only a committee member's session gets the lines.
    assert (await client.get("/console/new/periods?procedure=elevator")).status_code == 303
    street = await sign_in("street_office")
    assert (await street.get("/console/new/periods?procedure=elevator")).status_code == 403
