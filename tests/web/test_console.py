"""Accounts, sign-in, roles, CSRF, the progress console, non-voters and paper ballots."""

from __future__ import annotations

import asyncio
import os
import re
import sys

import httpx

from domain.roll import Roll, Room
from yishi.services.voting import load_box
from yishi.web.throttle import PAIR_FREE

PASSWORD = "correct horse battery"  # the web conftest's


async def vote(client, d, owner: str, choice: str, fields) -> None:  # type: ignore[no-untyped-def]
    form = fields((await client.get(d.path(owner))).text)
    assert (await client.post(form["_action"], data={**form, "choice": choice})).status_code == 200


async def test_user_add_cli_hashes_with_argon2id(database_url, pool) -> None:
    env = {**os.environ, "YISHI_DATABASE_URL": database_url, "YISHI_LOG_JSON": "false"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from yishi.cli.users import user; user()", "add", "李网格", "--role",
        "grid_worker", "--community", "幸福社区", "--password-stdin", env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate(b"a long enough secret\n")
    assert process.returncode == 0, err.decode()
    assert "grid_worker" in out.decode()
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT role, community, password_hash FROM accounts WHERE name = '李网格'")
    assert row["role"] == "grid_worker" and row["community"] == "幸福社区"
    assert row["password_hash"].startswith("$argon2id$") and "a long enough secret" not in row["password_hash"]
    again = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from yishi.cli.users import user; user()", "add", "李网格", "--role", "auditor",
        "--password-stdin", env=env, stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE)
    _, err = await again.communicate(b"another long secret\n")
    assert again.returncode == 2 and "already exists" in err.decode()


async def test_console_needs_sign_in_and_csrf(client, app, pool, fields) -> None:
    assert (await client.get("/console")).status_code == 303
    assert (await client.get("/console/d/x/non-voters")).headers["location"] == "/login"
    login = fields((await client.get("/login")).text, "/login")
    no_csrf = await client.post("/login", data={"name": "x", "password": "y"})
    assert no_csrf.status_code == 403
    wrong = await client.post("/login", data={**login, "name": "nobody", "password": "wrong password"})
    assert wrong.status_code == 401 and "账号或密码不对" in wrong.text
    codes = [(await client.post("/login", data={**login, "name": "nobody", "password": "x"})).status_code
             for _ in range(PAIR_FREE)]
    assert codes == [401] * (PAIR_FREE - 1) + [429], "slowed down after a few failures (tests/web/test_login_throttle)"


async def test_progress_per_building_and_entrance(sign_in, client, open_deliberation, fields) -> None:
    d = await open_deliberation(8)
    for owner, choice in (("o000", "for"), ("o001", "for"), ("o002", "against"), ("o004", "for")):
        await vote(client, d, owner, choice, fields)
    auditor = await sign_in("auditor")
    listing = await auditor.get("/console")
    assert d.id in listing.text and "加装电梯意见征询" in listing.text
    page = await auditor.get(f"/console/d/{d.id}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.text
    assert "已投 4/8 户" in html
    for group in ("1栋", "2栋", "1栋1单元", "1栋2单元", "2栋1单元", "2栋2单元"):
        assert f">{group}<" in html, group
    assert html.count('<svg class="bars"') >= 7 * 4  # overall + 2 buildings + 4 entrances, 4 conditions each
    assert "参与表决业主专有部分面积占全体业主专有部分面积" in html and "≥ 2/3" in html
    # The auditor may not see phones or enter ballots.
    assert (await auditor.get(f"/console/d/{d.id}/non-voters")).status_code == 403
    assert (await auditor.get(f"/console/d/{d.id}/paper")).status_code == 403
    english = await auditor.get(f"/console/d/{d.id}?lang=en")
    assert "4/8 owners voted" in english.text and "Building 1, entrance 2" in english.text


AREA = "参与表决业主专有部分面积占全体业主专有部分面积 ≥ 2/3"


def bar_row(html: str, name: str) -> tuple[str, str, str]:
    """(bar width, threshold mark x, the text beside the bar) of the first bar named ``name``."""
    match = re.search(rf'<th scope="row">{re.escape(name)}</th>.*?class="bar-(?:met|short)" x="0" y="4" '
                      r'width="([^"]+)".*?x1="([^"]+)".*?<span>([^<]*)<strong', html, re.S)
    assert match, name
    return match.group(1), match.group(2), " ".join(match.group(3).split())


async def test_progress_percentages_never_cross_their_threshold(sign_in, client, open_deliberation, fields) -> None:
    """333.33 of 500 m² is 66.666 %, short of 2/3: it reads 66.6 % and its bar ends before the 2/3 mark; two of
    three owners are exactly 2/3: 66.7 %, the bar reaches the mark."""
    rooms = [Room(room_id=f"1-1-{n}", building="1", entrance="1", floor="1", area_m2=area, owner_id=f"o{n:03d}",
                  owner_name=f"业主{n}") for n, area in enumerate(("333.33", "83.33", "83.34"))]
    d = await open_deliberation(roll=Roll(rooms=tuple(rooms)), rule_id="cc278-special")
    await vote(client, d, "o000", "for", fields)
    auditor = await sign_in("auditor")
    html = (await auditor.get(f"/console/d/{d.id}")).text
    width, mark, text = bar_row(html, AREA)
    assert text == "66.6% (≥ 2/3)" and float(width) < float(mark), (width, mark, text)
    await vote(client, d, "o001", "for", fields)
    html = (await auditor.get(f"/console/d/{d.id}")).text
    width, mark, text = bar_row(html, "参与表决业主人数占全体业主人数 ≥ 2/3")
    assert text == "66.7% (≥ 2/3)" and float(width) >= float(mark), (width, mark, text)
    width, mark, text = bar_row(html, AREA)
    assert text == "83.3% (≥ 2/3)" and float(width) > float(mark)


async def test_non_voters_with_rooms_and_phones(sign_in, client, open_deliberation, fields) -> None:
    d = await open_deliberation(6)
    await vote(client, d, "o001", "for", fields)
    committee = await sign_in("committee")
    page = await committee.get(f"/console/d/{d.id}/non-voters")
    assert page.status_code == 200
    rows = re.findall(r'<tr class="non-voter">(.*?)</tr>', page.text, re.S)
    assert len(rows) == 5
    room = next(r for r in d.roll.rooms if r.owner_id == "o003")
    assert any(room.room_id in row and "业主3" in row and "13800000003" in row for row in rows)
    assert not any(r.room_id in page.text for r in d.roll.rooms if r.owner_id == "o001")


async def test_paper_ballots_online_prevails_and_marks(sign_in, client, store, open_deliberation, fields) -> None:
    d = await open_deliberation(4)
    rooms = {r.owner_id: r.room_id for r in d.roll.rooms}
    grid = await sign_in("committee")  # paper entry is the committee's (tests/web/test_console_paper.py)
    form = fields((await grid.get(f"/console/d/{d.id}/paper")).text, "/paper")
    form = {**form, **d.sheet}  # the date the owners filled the sheets in
    entered = await grid.post(form["_action"], data={**form, "room": rooms["o002"], "choice": "against",
                                                     "paper_ref": "scan-0042.pdf"})
    assert entered.status_code == 200 and "纸质选票已录入" in entered.text
    twice = await grid.post(form["_action"], data={**form, "room": rooms["o002"], "choice": "against",
                                                   "paper_ref": "scan-0042.pdf"})
    assert twice.status_code == 200
    other = await grid.post(form["_action"], data={**form, "room": rooms["o002"], "choice": "for",
                                                   "paper_ref": "scan-0042.pdf"})
    assert other.status_code == 409 and "scan-0042.pdf" in other.text
    bad = await grid.post(form["_action"], data={**form, "room": "nowhere", "choice": "for", "paper_ref": "x"})
    assert bad.status_code == 422
    forged = await grid.post(form["_action"], data={"csrf": "0" * 32, "nonce": "n", "room": rooms["o003"],
                                                    "choice": "for", "paper_ref": "y"})
    assert forged.status_code == 403

    await vote(client, d, "o003", "for", fields)  # online first, then paper: online prevails
    late = await grid.post(form["_action"], data={**form, "room": rooms["o003"], "choice": "against",
                                                  "paper_ref": "scan-0043.pdf"})
    assert late.status_code == 200 and "网上投票优先" in late.text
    box = await load_box(store, d.id)
    assert box.state.tally().counted_choice("o002") == "against"
    assert box.state.tally().counted_choice("o003") == "for"
    assert sum(1 for e in box.events if e.type == "BallotCast" and e.payload["channel"] == "paper") == 2
    progress = (await grid.get(f"/console/d/{d.id}")).text
    marks = re.findall(r'<tr class="paper-row">(.*?)</tr>', progress, re.S)
    assert len(marks) == 2 and "scan-0042.pdf" in progress
    assert any("计入" in m and rooms["o002"] in m for m in marks)
    assert any("网上投票优先，不计入" in m and rooms["o003"] in m for m in marks)


async def test_logout_ends_the_session(sign_in, fields) -> None:
    committee = await sign_in("committee")
    page = await committee.get("/console")
    form = fields(page.text, "/logout")
    cookie = committee.cookies.get("yishi_session")
    assert (await committee.post("/logout", data=form)).status_code == 303
    stale = httpx.AsyncClient(transport=committee._transport, base_url="http://testserver",
                              cookies={"yishi_session": cookie})
    async with stale:
        assert (await stale.get("/console")).status_code == 303  # the old cookie no longer works
