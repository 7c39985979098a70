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
    # Personal links and notice sheets (yishi/web/console_links.py)
    "links_title": ("投票链接与通知单", "Voting links and notice sheets"),
    "links_link": ("投票链接与通知单（二维码）", "Voting links and notice sheets (QR codes)"),
    "links_not_open": ("该事项还没有开始投票：投票开始后才能生成每户的投票链接和通知单。请在事项页面查看当前阶段。",
                       "Voting has not opened yet: each household's link and notice sheet can be issued once it "
                       "opens. The matter page shows the current stage."),
    "links_count": ("表决范围内业主 {owners} 户，已有有效投票链接 {live} 户。",
                    "{owners} owners in scope; {live} of them have a live voting link."),
    "links_closed": ("投票已于 {when} 截止，链接已不能投票，不能再生成或更换链接。",
                     "Voting closed {when}: the links no longer vote, and none can be issued or reissued."),
    "links_base": ("链接地址：{base}", "Links point to: {base}"),
    "links_base_fallback": ("（未设置 YISHI_PUBLIC_BASE_URL，暂用本页面的地址。请确认居民的手机能打开这个地址，"
                            "否则请管理员设置对外地址后再打印。）",
                            "(YISHI_PUBLIC_BASE_URL is not set, so this page's own address is used. Check that "
                            "residents' phones can open it; otherwise ask the operator to set the public address "
                            "before printing.)"),
    "links_missing": ("{count} 户还没有投票链接", "{count} owners have no link yet"),
    "links_more": ("……另有 {count} 户", "… and {count} more"),
    "links_issue": ("生成投票链接", "Issue links"),
    "links_issue_hint": ("为上述业主各生成一个投票链接；已有的链接保持不变，已张贴的通知单继续有效。",
                         "Issues a link to each owner above; existing links stay as they are, so sheets already "
                         "posted keep working."),
    "links_print_h": ("打印与导出", "Print and export"),
    "links_sheets": ("打印通知单（A4，按单元，含二维码）", "Print notice sheets (A4, per entrance, QR codes)"),
    "links_csv": ("下载链接表（CSV）", "Download the links (CSV)"),
    "links_private": ("每个链接都可以代表该户投票：通知单和链接表只交给本户，不要转发或公开。",
                      "Each link votes for its household: hand sheets and the list only to that household; do not "
                      "forward or publish them."),
    "links_reissue_h": ("更换某一户的链接", "Reissue one household's link"),
    "links_reissue_owner": ("业主编号或房号", "Owner id or room"),
    "links_reissue_hint": ("例如链接丢失或通知单被他人取走：旧链接立即失效，随后打印该户的新通知单。",
                           "E.g. a lost link or a slip taken by someone else: the old link stops at once, then "
                           "print the household's new sheet."),
    "links_reissue": ("作废旧链接并重新生成", "Revoke and reissue"),
    "links_unknown_owner": ("“{owner}”不是本事项表决范围内的业主编号或房号，未作任何更改。请核对名册后重新输入。",
                            "\"{owner}\" is not an owner id or room in this deliberation's scope; nothing was "
                            "changed. Check the roll and type it again."),
    "links_key_changed": ("业主 {owner} 的链接是用另一个密钥生成的（YISHI_SECRET_KEY 已更换），无法再次显示。"
                          "已张贴的链接仍然有效；如需重新打印，请逐户更换链接。",
                          "Owner {owner}'s link was issued under another secret key (YISHI_SECRET_KEY changed), so "
                          "it cannot be shown again. Posted links still work; reissue a household's link to "
                          "print it again."),
    "sheets_count": ("共 {count} 户的通知单。", "Notice sheets for {count} households."),
    "sheets_print": ("用浏览器打印（A4）；本说明不会打印出来。",
                     "Print with the browser (A4); this box is not printed."),
    "sheets_missing": ("以下 {count} 户还没有投票链接，不在通知单上：",
                       "{count} owners have no link yet and are not on these sheets:"),
    "sheets_english_add": ("加印英文（中英双语通知单）", "Add English to the sheets (Chinese and English)"),
    "sheets_english_drop": ("只印中文", "Chinese only"),
    "sheets_back": ("返回投票链接页面（生成或更换链接）", "Back to the links page (issue or reissue links)"),
    "sheets_one": ("业主 {owner} 的投票链接（第 {generation} 版）",
                   "Owner {owner}'s voting link (version {generation})"),
    "sheets_one_replaced": ("此前的链接和通知单已失效，请把这张新通知单交给本户。",
                            "Earlier links and slips of this household no longer work: hand it this new sheet."),
    "sheets_one_missing": ("业主 {owner} 还没有投票链接。", "Owner {owner} has no link yet."),
}

# Starting a deliberation from the console (yishi/web/console_start.py).
CONSOLE_EXTRA_MESSAGES.update({
    "start_link": ("发起表决事项", "Start a deliberation"),
    "start_title": ("发起表决事项", "Start a deliberation"),
    "start_procedure": ("事项类型", "Procedure"),
    "start_explain": ("提交后即冻结业主名册、登记事项并启动流程，随后进入事项页面办理第一项任务。",
                      "Sending the form freezes the owners roll, registers the deliberation and starts its "
                      "procedure; its page then shows the first task."),
    "start_errors": ("未发起。请修改以下内容后重新提交（名册文件需重新选择）：",
                     "Nothing was started. Fix the following and send again (choose the roll file again):"),
    "start_title_field": ("标题（公告和选票上显示）", "Title (shown on notices and ballots)"),
    "start_title_hint": ("不填则用“{name}”。", "Leave empty for “{name}”."),
    "start_community_hint": ("本账号未指定社区：请填写此事项所属的社区。",
                             "This account belongs to no community: enter the community this deliberation is for."),
    "start_scope": ("表决范围", "Who votes (scope)"),
    "start_building": ("楼栋", "Building"),
    "start_entrance": ("单元（可不填）", "Entrance (optional)"),
    "start_scope_hint": ("按名册中的写法填写（如楼栋 3、单元 2）。只填楼栋：该楼全体业主；楼栋和单元都填：该单元业主；"
                         "都不填：名册中的全体业主。加装电梯通常按单元。",
                         "Write them as the roll does (building 3, entrance 2). Building only: the whole "
                         "building; building and entrance: that entrance; neither: every owner on the roll. An "
                         "elevator is usually one entrance."),
    "start_roll": ("业主名册文件（CSV 或 XLSX）", "Owners roll file (CSV or XLSX)"),
    "start_roll_hint": ("最大 {mib} MiB。名册在发起时冻结，此后不能更换。",
                        "At most {mib} MiB. The roll is frozen when the deliberation starts and cannot be replaced."),
    "start_periods": ("期间", "Periods"),
    "start_periods_hint": ("不填则用默认值。写法：P15D（15 日）、10wd（10 个工作日）、PT2H（2 小时）。",
                           "Leave empty for the default. Write P15D (15 days), 10wd (10 working days) or PT2H "
                           "(2 hours)."),
    "start_more_periods": ("其他期间", "Other periods"),
    "start_default": ("（默认 {value}）", "(default {value})"),
    "start_counting": ("计票设置", "Counting"),
    "start_counting_hint": ("默认值为本系统的设置；只对本事项生效。", "Defaults are this system's settings; a change "
                            "applies to this deliberation only."),
    "start_proxy_limit": ("每位受托人最多代理的业主人数", "Owners one proxy may represent"),
    "start_deem_silent": ("未投票业主视为同意多数意见（沉默条款，须有本小区管理规约或议事规则依据；"
                          "两种计票结果都会公布）",
                          "Count owners who did not vote with the majority (silent-owner clause: only where the "
                          "estate's rules provide for it; both tallies are published)"),
    "start_deem_over_half": ("仅当多数一方自身的票数已超过全体业主人数和面积的一半时才适用沉默条款（需先勾选上一项）",
                             "Apply the clause only when the majority's own ballots exceed half of all owners and "
                             "of the area (needs the option above)"),
    "start_cost_total": ("工程总造价（元）", "Total cost (yuan)"),
    "start_cost_hint": ("按面积和楼层系数分摊到各户；不填则为 {value} 元。", "Shared among the flats by area and floor "
                        "coefficient; empty means {value} yuan."),
    "start_current_company": ("现物业服务企业", "Current property company"),
    "start_candidates": ("候选物业服务企业（每行一家：编号 名称）", "Candidate companies (one per line: ID name)"),
    "start_candidates_hint": ("编号用字母、数字、- 或 _，与名称之间空一格，如：A 安居物业",
                              "The ID is letters, digits, - or _, then a space and the name, e.g.: A Anju Property"),
    "start_issue": ("议题（要协商的问题和提出的方案）", "Issue (the problem and the proposal)"),
    "start_submit": ("发起", "Start"),
    "start_err_community": ("请填写此事项所属的社区。", "Enter the community this deliberation is for."),
    "start_err_issue": ("请填写议题。", "Enter the issue."),
    "start_err_entrance": ("填写了单元，请同时填写楼栋。", "An entrance needs its building: fill in the building too."),
    "start_err_scope_chars": ("楼栋和单元中不能有逗号或等号，请按名册中的写法填写。",
                              "Building and entrance cannot contain a comma or =; write them as the roll does."),
    "start_err_period": ("{period}：{reason}", "{period}: {reason}"),
    "start_err_proxy_limit": ("每位受托人最多代理人数应为 0 到 {most} 的整数。",
                              "Owners one proxy may represent: a whole number from 0 to {most}."),
    "start_err_cost": ("工程总造价“{value}”无效：应为大于 0 的金额，最多两位小数，如 600000 或 585000.50。",
                       "Total cost '{value}' is not valid: an amount above 0 with at most two decimals, e.g. 600000 "
                       "or 585000.50."),
    "start_err_candidate_line": ("候选企业第 {line} 行“{text}”无法识别：应为“编号 名称”，编号用字母、数字、- 或 _。",
                                 "Candidates, line {line} ('{text}'): write 'ID name', the ID being letters, "
                                 "digits, - or _."),
    "start_err_candidate_twice": ("候选企业第 {line} 行：编号 {id} 已用过，请换一个编号。",
                                  "Candidates, line {line}: the ID {id} is used already; choose another."),
    "start_err_candidates": ("请至少填写一家候选物业服务企业。", "Enter at least one candidate company."),
    "start_err_candidates_many": ("候选企业最多 {most} 家。", "At most {most} candidate companies."),
    "start_err_roll_missing": ("请选择业主名册文件（CSV 或 XLSX）。", "Choose the owners roll file (CSV or XLSX)."),
    "start_err_invalid": ("表单内容无法使用，请检查后重新提交。",
                          "The form could not be used; check it and send again."),
    "start_pending_title": ("事项正在启动", "The deliberation is starting"),
    "start_pending_body": ("事项已登记，流程正在启动，几秒后刷新本页即可看到第一项任务。",
                           "The deliberation is registered and its procedure is starting; reload this page in a "
                           "few seconds to see the first task."),
    "start_pending_reload": ("刷新", "Reload"),
    "start_period_feasibility": ("可行性审查", "Feasibility check"),
    "start_period_notice": ("公告期", "Notice"),
    "start_period_voting": ("投票期", "Voting"),
    "start_period_remind_before": ("截止前提醒（提前）", "Reminder before the deadline"),
    "start_period_checkpoint": ("计票检查点间隔", "Checkpoint interval"),
    "start_period_share_confirmation": ("费用分摊确认期", "Cost-share confirmation"),
    "start_period_publicity": ("方案公示期", "Plan posting"),
    "start_period_mediation": ("异议调解期", "Mediation of objections"),
    "start_period_escalation": ("街道处理期", "Street office handling"),
    "start_period_permit": ("办理审批", "Permit application"),
    "start_period_construction": ("施工期", "Construction"),
    "start_period_acceptance": ("受理 / 验收", "Acceptance"),
    "start_period_review": ("社区审查", "Community review"),
    "start_period_result_posting": ("结果公示期", "Result posting"),
    "start_period_objection": ("异议期", "Objection period"),
    "start_period_dismissal_notice": ("解聘通知期", "Dismissal notice"),
    "start_period_handover": ("交接期", "Hand-over"),
    "start_period_interim_service": ("临时服务期", "Interim service"),
    "start_period_positions": ("各方陈述意见", "Positions of the parties"),
    "start_period_milestone": ("落实节点期限", "Milestone deadline"),
    "start_period_feedback": ("满意度回访期", "Satisfaction feedback"),
})

# The auditor's page: verify a deliberation, download its export (yishi/web/console_audit.py)
CONSOLE_EXTRA_MESSAGES.update({
    "audit_title": ("审计核验", "Audit"),
    "audit_link": ("审计核验与导出", "Audit: verify and export"),
    "audit_intro": ("核验会重放该事项在 Temporal 中的每一次运行，逐条验算事件哈希链，"
                    "与工作流记录的检查点和公告的终点哈希比对，再用计票规则重新计票。全部一致才算通过；任何一项不一致都会写明检查项和事件序号。",
                    "The check replays every Temporal run of the deliberation, recomputes the hash chain event by "
                    "event, holds the stream against the checkpoints the workflows recorded and the published final "
                    "head, and recounts under the stated rule. It passes only when all agree; a mismatch names the "
                    "check and the event's seq."),
    "audit_cost": ("核验在单独的低优先级进程中进行，居民投票优先；大型小区可能需要几分钟。"
                   "同一时间只运行一项核验或导出。",
                   "The check runs in a separate process at a lower priority, so residents' voting comes first; a "
                   "large estate may take a few minutes. One check or export runs at a time."),
    "audit_run": ("开始核验", "Run the check"),
    "audit_run_again": ("重新核验", "Run the check again"),
    "audit_back": ("返回审计页面", "Back to the audit page"),
    "audit_verdict": ("核验结论：", "Verdict: "),
    "audit_pass": ("通过", "passed"),
    "audit_fail": ("未通过", "FAILED"),
    "audit_seconds": ("用时 {seconds} 秒", "took {seconds} s"),
    "audit_failing": ("{count} 项检查未通过，见下表", "{count} checks fail; see the table"),
    "audit_checks": ("各项检查", "Checks"),
    "audit_check": ("检查项", "Check"),
    "audit_result": ("结果", "Result"),
    "audit_subject": ("对象", "Subject"),
    "audit_detail": ("说明", "Detail"),
    "audit_detail_hint": ("“说明”一栏是核验工具的原文（英文），与 `yishi audit verify` 和 docs/audit.md 一致。",
                          "The Detail column is the check tool's own text, as `yishi audit verify` prints it "
                          "(docs/audit.md)."),
    "audit_ok": ("通过", "holds"),
    "audit_not_ok": ("未通过", "FAILS"),
    "audit_runs": ("重放的工作流运行（{count}）", "Temporal runs replayed ({count})"),
    "audit_workflow": ("工作流", "Workflow"),
    "audit_type": ("类型", "Type"),
    "audit_status": ("状态", "Status"),
    "audit_streams": ("事件流及其终点（{count}）", "Event streams and their heads ({count})"),
    "audit_stream": ("事件流", "Stream"),
    "audit_events": ("事件数", "Events"),
    "audit_head": ("终点（序号 · 哈希）", "Head (seq · hash)"),
    "audit_check_temporal_runs": ("工作流运行记录", "Temporal runs"),
    "audit_check_replay": ("重放", "Replay"),
    "audit_check_chain": ("哈希链", "Hash chain"),
    "audit_check_checkpoints": ("检查点", "Checkpoints"),
    "audit_check_sealed_head": ("公告终点哈希", "Published head"),
    "audit_check_after_seal": ("封箱之后", "After the seal"),
    "audit_check_roll": ("名册", "Roll"),
    "audit_check_recount": ("重新计票", "Recount"),
    "audit_check_stream_head": ("流头记录", "Stream head"),
    "audit_check_tickets": ("工单", "Escalation tickets"),
    "audit_explain_temporal_runs": ("Temporal 中至少有一次该事项的运行", "at least one Temporal run exists"),
    "audit_explain_replay": ("每次运行的历史都能用当前代码重放", "every run's history replays on the current code"),
    "audit_explain_chain": ("事件序号连续，每条事件的哈希都能重新算出", "seq has no gaps and every hash recomputes"),
    "audit_explain_checkpoints": ("工作流记录的每个检查点（序号、哈希）都与事件流一致",
                                  "every head a workflow recorded is in the stream with that hash"),
    "audit_explain_sealed_head": ("结果公告中的终点哈希就是事件流中的计票结果事件",
                                  "the head in the result notice is the stream's recorded result"),
    "audit_explain_after_seal": ("封箱之后没有新的投票类事件", "no ballot-box event after the seal"),
    "audit_explain_roll": ("冻结的名册与其摘要一致", "the frozen roll matches its digest"),
    "audit_explain_recount": ("重新计票得出与公布完全相同的结果", "counting again gives exactly the published result"),
    "audit_explain_stream_head": ("数据库记录的流头就是最后一条事件", "the database's stream head is the last event"),
    "audit_explain_tickets": ("相关工单都有自己的事件流，并逐项核验",
                              "every escalation ticket's stream is there and checked"),
    "audit_busy_title": ("另一项核验正在进行", "Another check is running"),
    "audit_busy": ("本服务器同一时间只运行一项核验或导出，以免影响居民投票。请约半分钟后再试。",
                   "This server runs one check or export at a time so residents' voting is not slowed. "
                   "Try again in about half a minute."),
    "audit_timeout_title": ("核验用时过长，已停止", "The check took too long and was stopped"),
    "audit_timeout": ("核验超过 {minutes} 分钟仍未完成，已停止，未得出结论。"
                      "请在投票较少的时段重试，或由运维人员在服务器上运行 `yishi audit verify`。",
                      "The check ran for more than {minutes} minutes and was stopped without a verdict. Try again "
                      "at a quieter time, or ask the operator to run `yishi audit verify` on the server."),
    "audit_tool_failed_title": ("核验工具未能运行", "The check could not run"),
    "audit_tool_failed": ("没有得出核验结论：{reason}。请联系运维人员。",
                          "No verdict was reached: {reason}. Contact the operator."),
    "audit_tool_crashed": ("核验工具异常退出（退出码 {code}），详情见服务器日志 console.audit_failed",
                           "the check tool stopped with exit code {code}; the server log has the details "
                           "(console.audit_failed)"),
    "audit_export_h": ("导出供独立核验", "Export for independent verification"),
    "audit_export_body": ("下载一个 zip 文件：其中 export/ 是 `yishi audit export` 的导出，"
                          "另附只用 Python 标准库的核验程序 verify_export.py 和说明 README.txt。"
                          "外部审计人员无需安装本系统，运行 `python3 verify_export.py export` 即可核验。",
                          "Download a zip: export/ is what `yishi audit export` writes, beside the standard-library "
                          "verifier verify_export.py and a README.txt. An outside auditor checks it without "
                          "installing Yishi: `python3 verify_export.py export`."),
    "audit_export_private": ("导出不含业主姓名和电话（名册只保留房号、楼栋、单元、楼层、面积和业主编号），"
                             "但包含每一条事件，包括按业主编号记录的投票选择和工单中录入的文字。请妥善保管，不要公开张贴。",
                             "The export has no owners' names or phone numbers (the roll keeps rooms, buildings, "
                             "entrances, floors, areas and owner ids only), but it holds every event, including each "
                             "ballot's choice by owner id and the text typed into tickets. Keep it safe; do not "
                             "post it publicly."),
    "audit_export": ("下载审计导出（zip）", "Download the audit export (zip)"),
})
