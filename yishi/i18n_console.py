"""Texts of the console additions (paper-ballot clerks, the roll template, the community filter, filing a
resident's complaint), Chinese first, English second. Merged into :data:`yishi.i18n.MESSAGES`."""

from __future__ import annotations

CONSOLE_EXTRA_MESSAGES: dict[str, tuple[str, str]] = {
    "paper_clerk": ("录入人", "Entered by"),
    "paper_clerk_unknown": ("（账号已不存在）", "(account no longer exists)"),
    "paper_clerk_unrecorded": ("未记录（早期录入）", "not recorded (entered before clerks were recorded)"),
    "roll_template": ("名册模板", "Roll template"),
    "roll_template_zh": ("下载（中文表头）", "download (Chinese headers)"),
    "roll_template_en": ("下载（英文表头）", "download (English headers)"),
    "roll_template_hint": ("表头可用中文（房号、楼栋、单元、楼层、专有部分面积、业主编号、业主姓名、"
                           "联系电话）或英文列名，但不能混用；导入前可用 `yishi roll check 文件` 检查。",
                           "Headers may be Chinese (房号, 楼栋, …) or the English column names, not a mix; "
                           "check a file with `yishi roll check FILE` before a deliberation uses it."),
    "community": ("社区", "Community"),
    "community_all": ("全部社区", "All communities"),
    "community_filter": ("筛选", "Filter"),
    "community_unassigned": ("未指定社区", "no community"),
    "community_home": ("本账号属于 {home}：只列出 {home} 和未指定社区的事项。",
                       "This account works for {home}: only {home}'s deliberations and those of no community "
                       "are listed."),
    "community_outside": ("本账号属于 {home}，不能查看 {community} 的事项；已列出本社区的事项。"
                          "如需查看，请联系管理员。",
                          "This account works for {home} and may not see {community}'s deliberations; yours are "
                          "listed instead. Ask the operator if you need access."),
    "complaint_title": ("代居民反映问题", "File a resident's complaint"),
    "complaint_link": ("代居民反映问题（立案）", "File a resident's complaint"),
    "complaint_explain": ("为 {community} 的居民登记诉求，立案后按“网格 → 社区 → 街道 → 区职能部门”逐级办理，"
                          "每级有签收和办结期限。",
                          "Record a complaint for a resident of {community}; the ticket climbs grid → community → "
                          "street office → district department, each level with its acknowledge and resolve "
                          "deadlines."),
    "complaint_resident": ("反映人（业主编号，或姓名和房号）", "Resident (owner id, or name and room)"),
    "complaint_deliberation": ("相关表决事项（可不选）", "Related deliberation (optional)"),
    "complaint_no_deliberation": ("无", "none"),
    "complaint_category": ("事项类别（决定最终承办的区职能部门）", "Category (decides the district department)"),
    "complaint_start_level": ("从哪一级开始办理", "First level to handle it"),
    "complaint_detail": ("情况说明", "What happened"),
    "complaint_attachments": ("附件引用（每行一个：文件名, sha256）", "Attachments (one per line: file name, sha256)"),
    "complaint_attachments_hint": ("附件本身不上传；工单记录文件名和 sha256，用 `sha256sum 文件` 计算。",
                                   "Files are not uploaded; the ticket keeps each name and sha256 "
                                   "(`sha256sum FILE`)."),
    "complaint_submit": ("立案", "File the ticket"),
    "complaint_filed": ("已立案：工单 {ticket}", "Filed: ticket {ticket}"),
    "complaint_filed_hint": ("工单几秒内出现在办理单位的待办中；如工单页暂未显示，请稍后刷新。",
                             "The ticket reaches the handling organisation's inbox within seconds; if its page "
                             "is not there yet, reload it shortly."),
    "complaint_bad_deliberation": ("所选表决事项不属于本社区，请重新选择。",
                                   "The chosen deliberation is not one of your community's; choose again."),
}
