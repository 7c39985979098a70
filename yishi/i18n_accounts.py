"""Texts of sign-in throttling, "my account" (password, sessions) and the auditor's account log, Chinese first,
English second. Merged into :data:`yishi.i18n.MESSAGES`."""

from __future__ import annotations

ACCOUNT_MESSAGES: dict[str, tuple[str, str]] = {
    "login_wait": ("登录失败次数较多，请 {seconds} 秒后再试。这只是暂时减速，不会锁定账号；"
                   "如忘记密码，请联系系统管理员用 `yishi user reset-password` 重置。",
                   "Too many failed sign-ins: try again in {seconds} seconds. This is a slow-down, not a lock; "
                   "if you forgot the password, ask the operator to reset it (`yishi user reset-password`)."),
    "account_title": ("我的账号", "My account"),
    "back_to_account": ("返回我的账号", "Back to my account"),
    "account_link": ("我的账号与登录设备", "My account and devices"),
    "account_role": ("账号 {name}（{role}）", "Account {name} ({role})"),
    "account_must_change": ("管理员为您设置了临时密码：请先设置一个只有您知道的新密码，然后才能使用其他页面。",
                            "The operator set a temporary password for you: choose a new one only you know "
                            "before using the other pages."),
    "password_title": ("修改密码", "Change the password"),
    "password_current": ("当前密码", "Current password"),
    "password_new": ("新密码（至少 {min} 个字符）", "New password (at least {min} characters)"),
    "password_repeat": ("再输入一次新密码", "The new password again"),
    "password_submit": ("修改密码", "Change the password"),
    "password_changed": ("密码已修改；其他设备上的 {ended} 个登录已结束。",
                         "Password changed; {ended} sign-ins on other devices were ended."),
    "password_wrong": ("当前密码不对，密码未修改。", "The current password is not right; nothing was changed."),
    "password_mismatch": ("两次输入的新密码不一致，密码未修改。", "The two new passwords differ; nothing was changed."),
    "password_short": ("新密码至少需要 {min} 个字符，密码未修改。",
                       "The new password needs at least {min} characters; nothing was changed."),
    "sessions_title": ("登录中的设备", "Signed-in devices"),
    "sessions_explain": ("如有不认识的设备或丢失的手机，请结束它的登录并修改密码。每次结束都记入账号操作记录。",
                         "If a device is not yours or a phone was lost, end its sign-in and change the password. "
                         "Each ending is recorded in the account log."),
    "session_this": ("本设备", "this device"),
    "session_since": ("登录于 {when}，有效至 {until}", "signed in {when}, valid until {until}"),
    "session_from": ("地址 {address}", "from {address}"),
    "session_end": ("结束此登录", "End this sign-in"),
    "sessions_end_others": ("结束其他所有设备的登录", "End every other sign-in"),
    "sessions_ended": ("已结束 {ended} 个登录。", "{ended} sign-ins ended."),
    "accounts_log_title": ("账号操作记录", "Account log"),
    "accounts_log_link": ("账号操作记录（建立、停用、启用、重置密码）", "Account log (created, disabled, reset)"),
    "accounts_log_explain": ("工作人员账号的每次建立、停用、启用、重置或修改密码、结束登录，都按时间记在哈希链中，"
                             "不能事后修改。",
                             "Every account created, disabled, enabled, password reset or changed and sign-in "
                             "ended, in order, in a hash chain that cannot be changed afterwards."),
    "accounts_log_chain_ok": ("哈希链完整：共 {n} 条，链头 {head}。", "The hash chain holds: {n} events, head {head}."),
    "accounts_log_chain_broken": ("哈希链不完整：{error}。请立即报告。",
                                  "The hash chain is broken: {error}. Report this at once."),
    "accounts_log_empty": ("尚无记录。", "Nothing recorded yet."),
    "log_seq": ("序号", "Seq"),
    "log_when": ("时间", "When"),
    "log_what": ("操作", "What"),
    "log_account": ("账号", "Account"),
    "log_by": ("操作人", "By"),
    "AccountCreated": ("建立账号", "account created"),
    "AccountDisabled": ("停用账号", "account disabled"),
    "AccountEnabled": ("启用账号", "account enabled"),
    "PasswordReset": ("管理员重置密码", "password reset by the operator"),
    "PasswordChanged": ("本人修改密码", "password changed by the account"),
    "SessionsEnded": ("本人结束其他登录", "sign-ins ended by the account"),
}
