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
}
