"""What a notice says on a robot, how fast a robot may post, and who a notice reaches per channel (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from activities.outbox import plan
from domain.channel_config import Channel, SmsTemplate
from domain.notice_messages import WECOM_MARKDOWN_BYTES, TokenBucket, markdown, template_params

T0 = datetime(2026, 5, 6, 9, 0, tzinfo=UTC)


def test_a_long_notice_is_cut_to_the_robots_limit_keeping_deadline_and_link() -> None:
    fields = {"title": "关于加装电梯的公告", "body": "加装电梯方案。" * 2000, "deadline": "2026-05-21 00:00",
              "link": "https://yishi.example.cn/p/elevator-0123456789ab"}
    text = markdown(fields)
    assert len(text.encode()) <= WECOM_MARKDOWN_BYTES
    assert text.startswith("## 关于加装电梯的公告\n") and "…" in text
    assert text.endswith("(https://yishi.example.cn/p/elevator-0123456789ab)") and "2026-05-21 00:00" in text
    assert markdown({"title": "短", "body": "全文"}) == "## 短\n全文"


def test_the_bucket_makes_a_notice_wait_for_a_token() -> None:
    bucket = TokenBucket.full(3)
    assert [bucket.take(T0) for _ in range(3)] == [timedelta(0)] * 3
    assert bucket.take(T0) == timedelta(seconds=20)
    assert bucket.take(T0 + timedelta(seconds=20)) == timedelta(0)
    bucket.drain(T0 + timedelta(seconds=21))
    assert bucket.take(T0 + timedelta(seconds=21)) == timedelta(seconds=20)


def test_recipient_groups_per_channel() -> None:
    by_owner = {"a": "3-1", "b": "3-1", "c": "3-2", "d": "4-1"}
    contacts = {"a": {"phone": "13800000001"}, "b": {"phone": ""}, "c": {"phone": "13800000003"},
                "d": {"phone": "13800000004"}}
    printed, _ = plan(None, "announcement", by_owner, contacts, frozenset())
    assert printed == {"3-1": 2, "3-2": 1, "4-1": 1}
    robot = Channel(id="wecom:b3", kind="wecom", secret_ref="b3", groups=("3",))
    assert plan(robot, "announcement", by_owner, contacts, frozenset())[0] == {"3": 3}
    results_only = robot.model_copy(update={"kinds": ("result",)})
    assert plan(results_only, "reminder", by_owner, contacts, frozenset()) == ({}, {})
    sms = Channel(id="sms:main", kind="sms", secret_ref="main", templates={"*": SmsTemplate(code="SMS_1")})
    groups, members = plan(sms, "announcement", by_owner, contacts, frozenset({"c"}))
    assert groups == {"3-1": 1, "4-1": 1}, "b has no phone, c opted out: 3-2 has nobody to text"
    assert members["3-1"] == [("a", "queued", ""), ("b", "skipped", "no phone on the roll")]


def test_channel_ids_templates_and_secrets_by_name() -> None:
    with pytest.raises(ValidationError, match="wecom:NAME"):
        Channel(id="sms:x", kind="wecom")
    with pytest.raises(ValidationError, match="unknown template fields"):
        SmsTemplate(code="SMS_1", params={"x": "phone"})
    template = SmsTemplate(code="SMS_1", params={"t": "title", "u": "link"})
    assert template_params(template, {"title": "公告", "link": "https://p"}, "https://v/tok") == {
        "t": "公告", "u": "https://v/tok"}
    assert "key" not in Channel.model_fields and "secret" not in Channel.model_fields
