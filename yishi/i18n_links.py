"""Texts about what staff did to personal links: on the owner's ballot and receipt pages, the console's links page
and the audit page. Chinese first, English second; merged into :data:`yishi.i18n.MESSAGES`."""

from __future__ import annotations

LINK_MESSAGES: dict[str, tuple[str, str]] = {
    # The owner's pages (yishi/web/resident.py, voter.py)
    "link_trace_h": ("您的投票链接的记录", "What was done with your voting link"),
    "link_reissued_note": ("您的投票链接于 {when} 由 {who} 重新发放（第 {generation} 版），此前的链接已失效。"
                           "如果不是您本人申请的，请立即联系业委会，并可要求审计核查。",
                           "Your voting link was reissued on {when} by {who} (version {generation}); earlier links "
                           "no longer work. If you did not ask for it, contact the committee at once; you may ask "
                           "for an audit."),
    "link_disclosed_note": ("{when} {who} {what}，其中包括您家的链接。", "{when}: {who} {what}, including your link."),
    "link_what_csv": ("下载了投票链接表（CSV）", "downloaded the list of links (CSV)"),
    "link_what_sheets": ("打印了通知单", "printed the notice sheets"),
    "link_what_sheet": ("单独打印了您家的通知单", "printed your household's sheet alone"),
    "link_what_other": ("显示了投票链接（{format}）", "showed the links ({format})"),
    "link_who_console": ("业委会 {by}", "committee member {by}"),
    "link_who_cli": ("{by}（服务器命令行）", "{by} (server command line)"),
    "link_who_system": ("系统（{by}）", "the system ({by})"),
    "link_trace_more": ("另有 {count} 条较早的记录。", "{count} earlier entries are not shown."),
    "link_trace_hint": ("这些记录都写在本事项不可篡改的记录链中，审计员可以核对；"
                        "工作人员每次打印或下载链接都会留下记录。",
                        "These entries are in this matter's tamper-evident record, which auditors check; every "
                        "print or download of the links by staff leaves one."),
    # The console's links page (yishi/web/console_links.py)
    "links_recorded": ("每次打印通知单、下载链接表、生成或更换链接，都会记入本事项的记录链（谁、何时、哪些户），"
                       "审计员和业主本人都能看到。",
                       "Every print of the sheets, download of the list, issue or reissue is recorded in this "
                       "matter's chain (who, when, which households), for auditors and for the owners to see."),
    "links_reissued": ("已为业主 {owner} 重新生成投票链接，旧链接已失效。"
                       "请打印该户的新通知单交给本户（打印会被记录）。",
                       "Owner {owner}'s link was reissued; the old one no longer works. Print the household's new "
                       "sheet and hand it over (the print is recorded)."),
    "links_print_one": ("打印业主 {owner} 的新通知单", "Print owner {owner}'s new sheet"),
    # The audit page (yishi/web/console_audit.py)
    "audit_check_links": ("投票链接记录", "Personal links"),
    "audit_explain_links": ("每张网上选票所用的链接都有发放记录；列出重新发放的链接、经其投出的选票和每次打印或下载",
                            "every online ballot's link was recorded when issued; lists reissued links, the ballots "
                            "cast through them and every print or download"),
    "audit_links_h": ("工作人员对投票链接的操作", "What staff did to the personal links"),
    "audit_links_reissued_ballots": ("经重新发放的链接投出的选票（{count}）",
                                     "Ballots cast through a reissued link ({count})"),
    "audit_links_reissues": ("重新发放（{count}）", "Reissued links ({count})"),
    "audit_links_disclosures": ("打印、下载投票链接（{count}）", "Prints and downloads of live links ({count})"),
    "audit_links_untraced": ("没有发放记录的链接投出的选票（{count}）",
                             "Ballots through links with no issue record ({count})"),
    "audit_links_none": ("无", "none"),
    "audit_owner": ("业主", "Owner"),
    "audit_generation": ("链接版本", "Link version"),
    "audit_by": ("操作人", "By"),
    "audit_when": ("时间", "When"),
    "audit_format": ("形式", "Form"),
    "audit_households": ("户数", "Households"),
}
