"""Texts about counting (which of an owner's ballots counts, the paper-entry window, the deemed tally), Chinese
first, English second. Merged into :data:`yishi.i18n.MESSAGES`."""

from __future__ import annotations

SHENZHEN = "深圳市 深建规〔2020〕14号"

COUNTING_MESSAGES: dict[str, tuple[str, str]] = {
    # The online/paper rule of RULES.md, named on receipts (domain.tally.Tally.precedence).
    "precedence_online_over_paper": (
        f"网上投票优先：您此前的纸质选票不再计入（{SHENZHEN}）。",
        f"The online ballot prevails: your earlier paper ballot no longer counts ({SHENZHEN}).",
    ),
    "precedence_paper_not_counted": (
        f"您已在网上投票，纸质选票已登记但不计入（网上投票优先，{SHENZHEN}）。",
        f"You have voted online: the paper ballot is recorded but does not count (the online ballot prevails, "
        f"{SHENZHEN}).",
    ),
    "paper_online_prevails": (
        f"该业主已在网上投票，纸质选票已登记但不计入（网上投票优先，{SHENZHEN}）。",
        f"This owner voted online: the paper ballot is recorded but does not count (the online ballot prevails, "
        f"{SHENZHEN}).",
    ),
    "voted_paper_and_online": (
        "网上投票优先：您的纸质选票已登记但不计入，计入的是网上投票。",
        "The online ballot prevails: your paper ballot is recorded but does not count; your online ballot does.",
    ),
    # Paper entry between the close and the seal (console_paper.html).
    "paper_filled_date": ("填写日期（业主在纸质选票上填写的日期）",
                          "Date filled in (the date the owner wrote on the sheet)"),
    "paper_filled_time": ("填写时间（可选，如 14:30）", "Time filled in (optional, e.g. 14:30)"),
    "paper_window": ("纸质选票须在投票期间填写（{opens} 至 {closes}）；业委会可录入至 {until}，届时封箱计票。",
                     "Paper ballots must be filled in during the vote ({opens} to {closes}); the committee enters "
                     "them until {until}, when the box is sealed and counted."),
    "paper_date_missing": ("请填写业主填写选票的日期（如 2025-11-03），时间可不填（如 14:30）。",
                           "Give the date the owner filled in the ballot (e.g. 2025-11-03); the time is optional "
                           "(e.g. 14:30)."),
    "paper_closed_title": ("纸质选票录入已结束", "Paper-ballot entry has ended"),
    "paper_closed_body": ("纸质选票录入已于 {when} 结束（投票箱已封箱或录入期已过），这张选票未录入。"
                          "如有遗漏，请在议事记录中说明。",
                          "Paper-ballot entry ended at {when} (the box is sealed or the entry window is over); this "
                          "ballot was not entered. Note any sheet left out in the deliberation's record."),
    "paper_closed_now": ("纸质选票录入已于 {when} 结束，不能再录入。", "Paper-ballot entry ended at {when}; "
                         "no more can be entered."),
    # The deemed tally beside the ballots cast (console progress, matter page).
    "result_cast": ("实际投票结果：{outcome}", "Result of the ballots cast: {outcome}"),
    "result_deemed": ("视为随多数后：同意 {yes} 户、{yes_area} ㎡，反对 {no} 户、{no_area} ㎡，结果：{outcome}",
                      "With silent owners deemed: for {yes} owners, {yes_area} m², against {no} owners, "
                      "{no_area} m² → {outcome}"),
    "result_decides_deemed": ("以视为随多数后的计票为准：{outcome}", "The deemed tally decides: {outcome}"),
    "result_decides_cast": ("沉默业主规则不适用，以实际投票为准：{outcome}",
                            "Deeming does not apply; the ballots cast decide: {outcome}"),
    "outcome_approved": ("通过", "approved"),
    "outcome_rejected": ("未通过", "rejected"),
    "outcome_no_quorum": ("参与表决未达法定比例，表决无效", "no quorum (the vote is void)"),
    "result_so_far": ("（投票进行中，以上为当前计数）", "(voting is open: the count so far)"),
    "paper_until": ("纸质选票录入至 {when}", "paper ballots entered until {when}"),
    "start_period_paper_entry": ("纸质选票录入期（截止后，eod 为截止当日 24:00）",
                                 "Paper-ballot entry after the close (eod: 24:00 of the closing day)"),
    "matter_result_deemed": ("（未参与表决的业主视为随多数意见，以视为随多数后的计票为准；详见结果公告）",
                             "(silent owners were deemed to follow the majority and the deemed tally decides; see the "
                             "result notice)"),
}
