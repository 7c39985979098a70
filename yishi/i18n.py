"""Interface texts, Chinese first, English second.

The language of a page comes from ``?lang=en`` / ``?lang=zh`` (which also sets a cookie), else the
``lang`` cookie, else ``settings.default_lang``. Every key has both texts; :func:`t` formats with
``str.format`` fields. Domain errors carry their own two texts (``DomainError.message(lang)``).
"""

from __future__ import annotations

import functools
from datetime import datetime
from decimal import Decimal
from typing import Literal

from domain.legal_calendar import BEIJING, fallback_note
from domain.numbers import decimal_str
from yishi.i18n_accounts import ACCOUNT_MESSAGES
from yishi.i18n_console import CONSOLE_EXTRA_MESSAGES
from yishi.i18n_counting import COUNTING_MESSAGES
from yishi.i18n_escalation import ESCALATION_MESSAGES
from yishi.i18n_links import LINK_MESSAGES

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
LANG_COOKIE = "lang"

MESSAGES: dict[str, tuple[str, str]] = {
    "site": ("议事", "Yishi"),
    "switch": ("English", "中文"),
    "skip": ("跳到正文", "Skip to content"),
    "notice": ("公告", "Notice"),
    "your_rooms": ("您在本次表决范围内的房屋", "Your homes in this vote"),
    "room": ("{building}栋{entrance}单元 {room}", "building {building}, entrance {entrance}: {room}"),
    "area_total": ("专有部分面积合计 {area} 平方米", "Total floor area {area} m²"),
    "deadline": ("投票截止：{when}", "Voting closes: {when}"),
    "changeable": ("截止前可以改票，以最后一次为准。", "You may change your ballot until then; the last one counts."),
    "final": ("投票提交后不能更改。", "A ballot cannot be changed once cast."),
    "question": ("表决事项", "Question"),
    "choose": ("请选择一项", "Choose one"),
    "for": ("同意", "For"),
    "against": ("反对", "Against"),
    "abstain": ("弃权", "Abstain"),
    "submit": ("提交投票", "Cast my ballot"),
    "submit_for": ("替 {rooms} 提交投票", "Cast the ballot for {rooms}"),
    "voted_already": ("您已投票：{choice}（{when}）。", "You have voted: {choice} ({when})."),
    "voted_by_proxy": ("代投人已替您投票：{choice}（{when}）。", "Your proxy voted for you: {choice} ({when})."),
    "voted_paper": ("您的纸质选票已登记：{choice}。网上投票优先于纸质选票。",
                    "Your paper ballot is recorded: {choice}. An online ballot takes precedence over paper."),
    "change_hint": ("如需改票，重新选择并提交即可。", "To change it, choose again and submit."),
    "missing_choice": ("请先选择“同意”“反对”或“弃权”中的一项，再提交。",
                       "Please choose For, Against or Abstain before submitting."),
    "receipt_title": ("投票已记录", "Your ballot is recorded"),
    "receipt_choice": ("您的选择：{choice}", "Your choice: {choice}"),
    "receipt_for_owner": ("替 {rooms} 投票", "Cast for {rooms}"),
    "receipt_code": ("收据号", "Receipt code"),
    "receipt_keep": ("请截图或抄下收据号，可在“核对收据”页面查询。",
                     "Take a screenshot or write down the code; you can check it on the receipt page."),
    "receipt_recorded": ("记录时间：{when}（第 {seq} 条）", "Recorded at {when} (entry {seq})"),
    "receipt_rule_change": ("您可以在 {when} 之前改票，以最后一次为准。",
                            "You may change your ballot until {when}; the last one counts."),
    "receipt_rule_final": ("本次表决不允许改票。", "Ballots in this vote cannot be changed."),
    "back_to_ballot": ("返回投票页", "Back to the ballot"),
    "check_receipt": ("核对收据", "Check a receipt"),
    "closed_title": ("投票已截止", "Voting has closed"),
    "closed_body": ("本次投票已于 {when} 截止，您的操作未被记录。",
                    "Voting closed at {when}; nothing was recorded."),
    "closed_contact": ("如有疑问，请联系社区或业委会。", "If you have questions, contact the committee."),
    "not_started": ("投票尚未开始", "Voting has not started"),
    "opens_body": ("投票将于 {when} 开始，届时请再打开本链接。", "Voting opens at {when}; open this link again then."),
    "link_invalid_title": ("链接无效", "This link is not valid"),
    "link_invalid_body": ("无法识别这个投票链接。请核对链接是否完整，或联系业委会、网格员领取您的链接。",
                          "This voting link is not recognised. Check that it is complete, or contact the "
                          "committee or your grid worker for your link."),
    "link_revoked_title": ("链接已更换", "This link was replaced"),
    "link_revoked_body": ("这个链接已停用，业委会已为您换发新链接。请联系业委会或网格员领取。",
                          "This link is no longer valid: the committee issued a new one. Contact the committee "
                          "or your grid worker to get it."),
    "form_invalid_title": ("表单有误", "The form is not valid"),
    "form_invalid_body": ("提交的内容不完整或已过期，未记录任何内容。请返回重新打开页面再提交。",
                          "The form was incomplete or expired; nothing was recorded. Open the page again "
                          "and resubmit."),
    "form_used_title": ("此表单已提交过", "This form was already submitted"),
    "form_used_body": ("这张表单已提交过一次（收据号 {code}）。如需改票，请重新打开投票页。",
                       "This form was already used (receipt {code}). To change your ballot, open the "
                       "ballot page again."),
    "refused_title": ("无法完成", "This could not be done"),
    "too_many_title": ("操作太频繁", "Too many requests"),
    "too_many_body": ("请稍等一分钟再试。", "Please wait a minute and try again."),
    "unavailable_title": ("系统繁忙", "Service busy"),
    # A commit whose answer was lost may have been recorded: say only what is known, and that trying again is safe.
    "unavailable_body": ("系统暂时无法确认记录，未出具收据，您的投票可能尚未记录。请稍后再试：重新提交不会重复计票。",
                         "The system could not confirm your ballot, so no receipt was given; it may not have been "
                         "recorded. Please try again shortly: submitting again never counts twice."),
    "too_large_title": ("提交内容过大", "Too much data"),
    "too_large_body": ("提交的内容超过了允许的大小，未记录任何内容。请返回页面重新提交。",
                       "What was sent is larger than allowed; nothing was recorded. Go back to the page and submit "
                       "again."),
    "body_timeout_title": ("提交超时", "Sending took too long"),
    "body_timeout_body": ("提交的内容长时间没有传完，未记录任何内容。请检查网络后返回页面重新提交。",
                          "What was being sent stopped arriving; nothing was recorded. Check the connection, go back "
                          "to the page and submit again."),
    "not_found_title": ("页面不存在", "Page not found"),
    "proxy_title": ("委托代投", "Proxy"),
    "proxy_explain": ("您可以委托本小区另一位业主替您投票，也可以随时撤销。无论本人还是代投人投票，都以最后一次为准。"
                      "每位代投人最多受托 {limit} 户。",
                      "You may authorise another owner of this estate to vote for you, and revoke it at any "
                      "time. Whether you or your proxy casts it, the last ballot counts. A proxy may "
                      "represent at most {limit} owners."),
    "proxy_room": ("代投人的房号（与公告单上的写法相同）", "Your proxy's room number (as written on the notice sheet)"),
    "proxy_submit": ("委托", "Authorise"),
    "proxy_current": ("当前代投人：{rooms} 的业主。", "Current proxy: the owner of {rooms}."),
    "proxy_revoke": ("撤销委托", "Revoke the proxy"),
    "proxy_saved": ("委托已记录", "Proxy recorded"),
    "proxy_revoked": ("委托已撤销", "Proxy revoked"),
    "proxy_unknown_room": ("本次表决中找不到房号“{room}”。请按公告单上的写法填写。",
                           "There is no room '{room}' in this vote. Write it as on the notice sheet."),
    "represented_title": ("您受托代投", "You vote as a proxy"),
    "represented_for": ("{rooms} 的业主委托您投票", "The owner of {rooms} authorised you"),
    "rc_title": ("核对收据", "Check a receipt"),
    "rc_label": ("收据号", "Receipt code"),
    "rc_submit": ("查询", "Check"),
    "rc_bad": ("收据号格式不对，应类似 42-3FA9C-07B1E。", "That is not a receipt code; it looks like 42-3FA9C-07B1E."),
    "rc_none": ("没有找到这个收据号。请核对后重试；如确认无误，请联系业委会。",
                "No ballot has this code. Check it; if it is right, contact the committee."),
    "rc_found": ("这张选票在投票记录中。", "This ballot is in the record."),
    "rc_stream": ("表决", "Vote"),
    "rc_seq": ("序号", "Entry"),
    "rc_time": ("记录时间", "Recorded at"),
    "rc_hash": ("链哈希", "Chain hash"),
    "rc_open": ("投票仍在进行，封箱后可核对最终记录。", "Voting is still open; check again after the box is sealed."),
    "rc_sealed_ok": ("已封箱：这张选票在公布的最终记录（第 {seq} 条，哈希 {hash}）之内，哈希链校验通过。",
                     "Sealed: this ballot is under the published final head (entry {seq}, hash {hash}) "
                     "and the hash chain verifies."),
    "rc_sealed_after": ("这条记录在封箱之后，不计入结果。", "This entry is after the seal and is not counted."),
    "rc_chain_bad": ("哈希链校验失败（{error}）。请联系审计人员。",
                     "The hash chain does not verify ({error}). Contact the auditors."),
    "rc_privacy": ("为保护投票自由，本页不显示选择内容。", "To protect the secrecy of your vote, this page does not "
                   "show the choice."),
}

CONSOLE_MESSAGES: dict[str, tuple[str, str]] = {
    "login_title": ("工作人员登录", "Staff sign-in"),
    "login_name": ("账号", "Account name"),
    "login_password": ("密码", "Password"),
    "login_submit": ("登录", "Sign in"),
    "login_failed": ("账号或密码不对，或账号已停用。", "Wrong name or password, or the account is disabled."),
    "logout": ("退出", "Sign out"),
    "console": ("工作台", "Console"),
    "forbidden_title": ("没有权限", "Not allowed"),
    "forbidden_body": ("您的账号角色不能查看或操作此页面。", "Your account's role may not see or do this."),
    "deliberations": ("表决事项", "Deliberations"),
    "no_deliberations": ("还没有表决事项。", "No deliberations yet."),
    "closes": ("截止", "Closes"),
    "sealed": ("已封箱", "Sealed"),
    "progress_title": ("投票进度", "Voting progress"),
    "overall": ("全部范围（以此为准）", "Whole scope (this decides)"),
    "by_building": ("按楼栋", "By building"),
    "by_entrance": ("按单元", "By entrance"),
    "group_building": ("{building}栋", "Building {building}"),
    "group_entrance": ("{building}栋{entrance}单元", "Building {building}, entrance {entrance}"),
    "counts": ("已投 {voted}/{eligible} 户；面积 {area}/{total} 平方米；同意 {yes} 户，反对 {no} 户，弃权 {abstain} 户",
               "{voted}/{eligible} owners voted; area {area}/{total} m²; for {yes}, against {no}, abstain {abstain}"),
    "met": ("已达到", "met"),
    "not_met": ("未达到", "not met"),
    "info_only": ("参考", "for information"),
    "rule": ("表决规则", "Rule"),
    "non_voters": ("未投票业主", "Owners who have not voted"),
    "non_voters_hint": ("供入户走访使用，可直接打印。联系方式仅限工作使用。",
                        "For door-to-door visits; printable. Contact details are for this work only."),
    "print": ("打印", "Print"),
    "rooms": ("房号", "Rooms"),
    "name": ("姓名", "Name"),
    "phone": ("电话", "Phone"),
    "none_missing": ("所有业主都已投票。", "Every owner has voted."),
    "paper_title": ("纸质选票", "Paper ballots"),
    "paper_enter": ("录入纸质选票", "Enter a paper ballot"),
    "paper_room": ("业主房号", "Owner's room"),
    "paper_ref": ("扫描件编号（纸质选票扫描文件名或编号）", "Scanned sheet reference (file name or number)"),
    "paper_submit": ("录入", "Record"),
    "paper_saved": ("纸质选票已录入", "Paper ballot recorded"),
    "paper_none": ("还没有纸质选票。", "No paper ballots yet."),
    "paper_counted": ("计入", "counted"),
    "paper_overridden": ("网上投票优先，不计入", "online prevails, not counted"),
    "paper_missing": ("请填写房号、选择一项并填写扫描件编号。", "Give the room, a choice and the sheet reference."),
    "paper_ref_used": ("扫描件编号 {ref} 已录入过另一张选票（收据号 {code}）。请核对。",
                       "Sheet reference {ref} was already entered for another ballot (receipt {code}). Check it."),
    "voted_paper_mark": ("纸质", "paper"),
    "choice": ("选择", "Choice"),
}
MESSAGES.update(CONSOLE_MESSAGES)
MESSAGES.update(ESCALATION_MESSAGES)

MATTER_MESSAGES: dict[str, tuple[str, str]] = {
    "matter_stage": ("当前阶段：{stage}", "Current stage: {stage}"),
    "matter_until": ("本阶段截止：{when}", "This stage ends: {when}"),
    "matter_result_approved": ("表决结果：通过", "Result of the vote: approved"),
    "matter_result_rejected": ("表决结果：未通过", "Result of the vote: not approved"),
    "matter_head": ("计票依据：事件流第 {seq} 条，哈希 {hash}",
                    "Counted from the stream up to event {seq}, hash {hash}"),
    "matter_closed": ("本事项已结束（{outcome}）。", "This matter is closed ({outcome})."),
    "share_title": ("您的费用分摊", "Your share of the cost"),
    "share_amount": ("房屋 {rooms}：应分摊 {amount} 元", "Homes {rooms}: your share is {amount} yuan"),
    "share_done": ("您已确认分摊金额。", "You have confirmed your share."),
    "share_confirm": ("确认我的分摊金额", "Confirm my share"),
    "share_confirmed": ("已确认您的分摊金额，记录已写入事件流。",
                        "Your share is confirmed and recorded in the stream."),
    "objection_title": ("提出异议", "Object"),
    "objection_explain": ("公示期内可提出异议，社区将组织调解；调解不成的，提交街道办处理。",
                          "While the plan is posted you may object; the community mediates, and an unresolved "
                          "objection goes to the street office."),
    "objection_label": ("异议内容（最多 {n} 字）", "Your objection (at most {n} characters)"),
    "objection_submit": ("提交异议", "Submit the objection"),
    "objection_empty": ("请写明异议内容。", "Write what you object to."),
    "objection_filed": ("异议已登记（编号 {id}），社区将在 {due} 前完成调解。",
                        "Objection {id} is recorded; the community will mediate by {due}."),
    "objections_yours": ("您已提出的异议", "Objections you filed"),
    "matter_done_title": ("已办理", "Done"),
    "matter_not_running_title": ("事项不在办理中", "This matter is not running"),
    "matter_not_running_body": ("事项 {id} 目前没有在办理（尚未启动办理流程，或已经结束），本次操作未记录，"
                                "重试也不会生效。请返回事项页查看当前阶段；如有疑问，请联系社区居委会或业委会。",
                                "Matter {id} is not running (its procedure was never started, or has ended), so "
                                "nothing was recorded and trying again will not help. Go back to the matter page "
                                "to see where it stands; ask the residents' committee or the owners' committee if "
                                "in doubt."),
    "back_to_matter": ("返回事项页", "Back to the matter"),
    "matter_title": ("事项进展", "Progress of the matter"),
    "tasks_open": ("待办任务", "Open tasks"),
    "tasks_none": ("目前没有待办任务。", "No open tasks."),
    "task_roles": ("办理角色", "Who may act"),
    "task_due": ("期限", "Due"),
    "task_overdue": ("已逾期", "overdue"),
    "task_outcome": ("办理结果", "Outcome"),
    "task_note": ("说明（部分结果必填）", "Note (required for some outcomes)"),
    "task_document": ("文书编号（如有）", "Document number (if any)"),
    "task_submit": ("提交", "Submit"),
    "task_done": ("任务 {task} 已办理。", "Task {task} is done."),
    "task_not_yours": ("您的角色（{role}）不能办理此任务。", "Your role ({role}) cannot act on this task."),
    "notices_failed": ("未能送达的通知", "Notices not delivered"),
    "progress_link": ("投票进度", "Voting progress"),
    "questions_each": ("本次共 {n} 项表决，请逐项选择并分别提交；每项都有收据。",
                       "This vote has {n} questions: choose and submit each one; each gets its receipt."),
}
MESSAGES.update(MATTER_MESSAGES)
MESSAGES.update(CONSOLE_EXTRA_MESSAGES)
MESSAGES.update(COUNTING_MESSAGES)
MESSAGES.update(ACCOUNT_MESSAGES)
MESSAGES.update(LINK_MESSAGES)


def t(key: str, lang: str, **fields: object) -> str:
    zh, en = MESSAGES[key]
    text = en if lang == "en" else zh
    return text.format(**fields) if fields else text


def pick_lang(query: str | None, cookie: str | None, default: str = "zh") -> Lang:
    for candidate in (query, cookie, default):
        if candidate in LANGS:
            return candidate  # type: ignore[return-value]
    return "zh"


def calendar_fallback(years: list[int] | tuple[int, ...] | None, lang: Lang) -> str:
    """The warning beside a deadline counted on weekends only in ``years`` (empty when there are none)."""
    if not years:
        return ""
    zh, en = fallback_note(tuple(years))
    return en if lang == "en" else zh


def when(instant: datetime | str | None, lang: str) -> str:
    """A time as residents read it: Beijing time, to the minute (an ISO 8601 string is read first)."""
    if instant is None:
        return "—"
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant)
    return _when(instant, lang)


@functools.lru_cache(maxsize=4096)
def _when(instant: datetime, lang: str) -> str:
    # Pages show the same few instants again and again (a box's deadline, a group commit's time).
    local = instant.astimezone(BEIJING)
    if lang == "en":
        return local.strftime("%d %b %Y, %H:%M") + " (Beijing time)"
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}（北京时间）"


def area(value: Decimal) -> str:
    return decimal_str(value)


def choice(value: str, lang: str) -> str:
    return t(value, lang) if value in ("for", "against", "abstain") else value
