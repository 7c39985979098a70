"""``yishi tally`` and ``yishi calendar deadline`` through click's CliRunner."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from yishi.cli import cli

HEADER = "room_id,building,entrance,floor,area_m2,owner_id,owner_name,phone"
ROLL = [
    "3-2-101,3,2,1,89.50,o1,张三,",
    "3-2-102,3,2,1,100.25,o2,李四,",
    "3-2-201,3,2,2,60.25,o1,张三,",
    "3-2-202,3,2,2,75,o3,王五,",
    "3-1-101,3,1,1,80,o4,赵六,",
]
BALLOTS = "\n".join(
    [
        "owner_id,choice,channel,cast_at,cast_by,paper_ref",
        "o1,for,online,2025-11-03T09:00:00+08:00,,",
        "o2,against,paper,2025-11-03 10:00,,P-1",
        "o2,for,online,2025-11-03T11:00:00+08:00,,",
        "o3,abstain,,,,",
        "o4,for,online,2025-11-03T09:00:00+08:00,,",
        "zz,for,online,,,",
    ]
)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    roll = tmp_path / "roll.csv"
    roll.write_bytes(("\n".join([HEADER, *ROLL]) + "\n").encode("gbk"))
    ballots = tmp_path / "ballots.csv"
    ballots.write_text(BALLOTS, encoding="utf-8-sig")
    return {"roll": str(roll), "ballots": str(ballots), "dir": str(tmp_path)}


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_tally_json(files) -> None:
    result = invoke("tally", "--roll", files["roll"], "--ballots", files["ballots"],
                    "--rule", "cc278-special", "--scope", "building=3,entrance=2", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["rule"] == "cc278-special"
    assert data["eligible"] == {"owners": 3, "area": "325"}
    assert data["participating"] == {"owners": 3, "area": "325"}
    assert data["in_favour"] == {"owners": 2, "area": "250"}
    assert data["ratios"]["in_favour_area"] == "10/13"
    assert data["quorum_met"] is True and data["approved"] is False and data["outcome"] == "rejected"
    assert [f["id"] for f in data["failed_conditions"]] == ["approval-owners"]
    assert data["thresholds"]["approval-area"] == {"fraction": "3/4", "inclusive": True}
    assert {(i["owner_id"], i["reason"]) for i in data["ignored"]} == {("o4", "not-in-scope"), ("zz", "not-on-roll")}


def test_tally_table_in_chinese_and_english(files) -> None:
    args = ["tally", "--roll", files["roll"], "--ballots", files["ballots"], "--rule", "cc278-ordinary"]
    zh = invoke(*args)
    assert zh.exit_code == 0, zh.output
    assert "结果" in zh.stdout and "通过" in zh.stdout and "全体业主" in zh.stdout
    en = invoke(*args, "--lang", "en", "--deem-silent")
    assert en.exit_code == 0, en.output
    assert "Outcome: approved" in en.stdout and "Silent owners" in en.stdout


def test_tally_table_percentages_never_cross_their_threshold(tmp_path: Path) -> None:
    """One decimal, as on the console; 333.33 of 500 m² (66.666 %) is short of 2/3 and must not read 66.67 %."""
    roll = tmp_path / "roll.csv"
    roll.write_text("\n".join([HEADER, "1-1-101,1,1,1,333.33,o1,甲,", "1-1-102,1,1,1,83.33,o2,乙,",
                               "1-1-201,1,1,2,83.34,o3,丙,"]) + "\n", encoding="utf-8")
    alone, two = tmp_path / "alone.csv", tmp_path / "two.csv"
    alone.write_text("owner_id,choice\no1,for\n")
    two.write_text("owner_id,choice\no1,for\no2,for\n")
    short = invoke("tally", "--roll", str(roll), "--ballots", str(alone), "--rule", "cc278-special", "--lang", "en")
    assert short.exit_code == 0, short.output
    line = next(x for x in short.stdout.splitlines() if "participants' share of the scope's area" in x)
    assert "[NOT met]" in line and line.endswith("33333/50000 ≈ 66.6%"), line
    met = invoke("tally", "--roll", str(roll), "--ballots", str(two), "--rule", "cc278-special", "--lang", "en")
    line = next(x for x in met.stdout.splitlines() if "participants' share of the scope's headcount" in x)
    assert "[met]" in line and line.endswith("≥ 2/3: 2/3 ≈ 66.7%"), line
    assert "1/1 = 100.0%" in met.stdout  # approval by headcount: both participants voted for


def test_tally_reads_xlsx_roll(files, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    for row in ROLL:
        sheet.append(row.split(","))
    buffer = io.BytesIO()
    book.save(buffer)
    (tmp_path / "roll.xlsx").write_bytes(buffer.getvalue())
    result = invoke("tally", "--roll", str(tmp_path / "roll.xlsx"), "--ballots", files["ballots"],
                    "--rule", "headcount-majority", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["eligible"]["owners"] == 4


def test_tally_with_proxies_file(files, tmp_path: Path) -> None:
    ballots = tmp_path / "proxy-ballots.csv"
    ballots.write_text("owner_id,choice,cast_at,cast_by\no1,for,2025-11-03 09:00,o2\no3,for,2025-11-03 09:00,o2\n")
    proxies = tmp_path / "proxies.csv"
    proxies.write_text("owner_id,proxy_owner_id,authorised_at,revoked_at\no1,o2,2025-11-01 00:00,\n")
    result = invoke("tally", "--roll", files["roll"], "--ballots", str(ballots), "--rule", "unanimous",
                    "--proxies", str(proxies), "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["in_favour"]["owners"] == 1
    assert [i["reason"] for i in data["ignored"]] == ["proxy-unauthorised"]


def test_bad_roll_exits_2_naming_file_and_row(files, tmp_path: Path) -> None:
    bad = tmp_path / "bad-roll.csv"
    bad.write_text("\n".join([HEADER, ROLL[0], "3-2-102,3,2,1,一百,o2,李四,", ROLL[0]]), encoding="utf-8")
    result = invoke("tally", "--roll", str(bad), "--ballots", files["ballots"], "--rule", "cc278-special")
    assert result.exit_code == 2
    assert "bad-roll.csv 第3行" in result.output and "第4行" in result.output
    assert "Traceback" not in result.output
    en = invoke("tally", "--roll", str(bad), "--ballots", files["ballots"], "--rule", "cc278-special",
                "--lang", "en")  # fmt: skip
    assert en.exit_code == 2 and "bad-roll.csv, row 3" in en.output


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"--rule": "nope"}, "cc278-special"),
        ({"--scope": "building=9"}, "9栋"),
        ({"--scope": "floor=1"}, "building=3,entrance=2"),
        ({"--roll": "missing.csv"}, "missing.csv"),
        ({"--ballots": "BAD_BALLOTS"}, "第3行"),
    ],
)
def test_bad_input_exits_2_without_traceback(files, tmp_path: Path, change, fragment) -> None:
    bad_ballots = tmp_path / "bad-ballots.csv"
    bad_ballots.write_text("owner_id,choice\no1,for\no2,maybe\n")
    options = {"--roll": files["roll"], "--ballots": files["ballots"], "--rule": "cc278-special"}
    options.update({k: (str(bad_ballots) if v == "BAD_BALLOTS" else v) for k, v in change.items()})
    args = [item for pair in options.items() for item in pair]
    result = invoke("tally", *args)
    assert result.exit_code == 2, result.output
    assert fragment in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_calendar_deadline_prints_iso_date() -> None:
    result = invoke("calendar", "deadline", "--from", "2025-09-16", "--days", "15")
    assert result.exit_code == 0
    assert result.stdout.strip() == "2025-10-09"


def test_calendar_deadline_json_and_fallback() -> None:
    result = invoke("calendar", "deadline", "--from", "2026-12-30", "--working-days", "3", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["last_day"] == "2027-01-04"
    assert data["ends_at"] == "2027-01-05T00:00:00+08:00"
    assert data["calendar_fallback"] is True and data["fallback_years"] == [2027]
    assert "2027" in result.stderr


def test_calendar_deadline_with_holiday_file(tmp_path: Path) -> None:
    holidays = tmp_path / "h.json"
    holidays.write_text('{"holidays": ["2027-01-01", "2027-01-04"]}')
    result = invoke("calendar", "deadline", "--from", "2026-12-30", "--working-days", "2",
                    "--holiday-file", str(holidays), "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["last_day"], data["calendar_fallback"]) == ("2027-01-05", False)


def test_calendar_deadline_honours_the_operator_holiday_file(tmp_path: Path, monkeypatch) -> None:
    """YISHI_HOLIDAY_FILE (the schedule the worker computes deadlines with) applies without --holiday-file; a
    --holiday-file wins for a year both cover."""
    from yishi.settings import get_settings

    operator, other = tmp_path / "2027.json", tmp_path / "other.json"
    operator.write_text('{"holidays": ["2027-01-01", "2027-01-04"]}')
    other.write_text('{"years": [2027]}')
    monkeypatch.setenv("YISHI_HOLIDAY_FILE", str(operator))
    get_settings.cache_clear()
    try:
        result = invoke("calendar", "deadline", "--from", "2026-12-30", "--working-days", "2", "--json")
        assert result.exit_code == 0, result.output
        assert (json.loads(result.stdout)["last_day"], json.loads(result.stdout)["calendar_fallback"]) == (
            "2027-01-05", False)
        result = invoke("calendar", "deadline", "--from", "2026-12-30", "--working-days", "2",
                        "--holiday-file", str(other), "--json")  # fmt: skip
        assert json.loads(result.stdout)["last_day"] == "2027-01-01", "--holiday-file covers 2027: no holidays"
        monkeypatch.setenv("YISHI_HOLIDAY_FILE", str(tmp_path / "missing.json"))
        get_settings.cache_clear()
        result = invoke("calendar", "deadline", "--from", "2026-12-30", "--working-days", "2")
        assert result.exit_code == 2 and "missing.json" in result.stderr
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--from", "2025-01-01"], "--days"),
        (["--from", "2025-01-01", "--days", "1", "--working-days", "1"], "--days"),
        (["--from", "2025/01/01", "--days", "1"], "YYYY-MM-DD"),
        (["--from", "2025-01-01", "--days", "0"], "1 to"),
        (["--from", "2025-01-01", "--days", "1", "--holiday-file", "nope.json"], "nope.json"),
    ],
)
def test_calendar_bad_input_exits_2(args, fragment) -> None:
    result = invoke("calendar", "deadline", *args)
    assert result.exit_code == 2
    assert fragment in result.output and "Traceback" not in result.output
