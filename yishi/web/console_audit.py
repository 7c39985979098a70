"""The auditor's page in the console: verify a deliberation, and download its export (what ``yishi audit`` does).

Auditors, the committee and the street office; each route under the community rule of yishi/web/staff.py. The
check replays every Temporal run and recounts every ballot: seconds of CPU and, for 100,000 ballots, hundreds of
MiB (docs/benchmarks.md). It never runs in this process, whose one event loop takes residents' ballots: each
request runs ``python -m yishi.cli audit verify|export`` as a child process, niced, in its own session, killed
after :data:`TIMEOUT_SECONDS`. One child at a time per web process (:data:`SLOT`): a request that finds it taken
is told at once to retry (503 with ``Retry-After``) rather than queued behind a check that may take minutes.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from domain.procedures import deliberation_of
from yishi.i18n import N_
from yishi.services.voting import deliberation_info
from yishi.settings import PROJECT_DIR, Settings
from yishi.web.render import message_page, not_found_page, page_translator, render, safe_filename
from yishi.web.staff import Staff, require
from yishi.web.voter import UNAVAILABLE, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
AUDIT_STAFF = ("auditor", "committee", "street_office")
TIMEOUT_SECONDS = 600.0
"""A child still running after this is killed (with its process group) and the page says it took too long."""
NICENESS = 10
RETRY_AFTER = "30"
VERIFIERS = (PROJECT_DIR / "tools" / "verify_export.py", Path("tools") / "verify_export.py")
"""Where the standalone verifier shipped in each zip is looked for: a source checkout has it beside the package;
an installed wheel does not, and the image copies it to ``tools/`` of its working directory (Dockerfile)."""


def verifier() -> Path | None:
    return next((path for path in VERIFIERS if path.is_file()), None)
STDERR_TAIL = 2000
BACK = N_("Back to the audit page")


class AuditSlot:
    """The one audit child a web process may run at a time (its lock, and the child while it runs)."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.child: asyncio.subprocess.Process | None = None


SLOT = AuditSlot()


@dataclass
class Finished:
    code: int
    stdout: bytes
    stderr: bytes
    seconds: float


class TookTooLong(Exception):
    """The child ran past :data:`TIMEOUT_SECONDS` and was killed."""


def child_env(settings: Settings) -> dict[str, str]:
    """This process's environment (the ``YISHI_*`` settings `yishi up` or the operator gave it), with the
    servers this app actually uses written over it, so the child checks the database the web serves, and reads
    the kept histories of the same data dir."""
    env = dict(os.environ)
    for name, value in (("YISHI_DATABASE_URL", settings.database_url),
                        ("YISHI_TEMPORAL_ADDRESS", settings.temporal_address),
                        ("YISHI_TEMPORAL_NAMESPACE", settings.temporal_namespace)):
        if value:
            env[name] = value
    env["YISHI_HISTORIES_DIR"] = str(settings.histories_path)  # the kept histories this web app's worker writes
    return env


def _kill(process: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: the group is the child and anything it started
    except ProcessLookupError:
        pass


async def run_cli(settings: Settings, *args: str) -> Finished:
    """``yishi ARGS`` as a child; the caller holds :data:`SLOT`. Raises :class:`TookTooLong`."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "yishi.cli", *args, env=child_env(settings), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True)
    SLOT.child = process
    try:
        try:  # lower its priority from here: a preexec_fn is unsafe in a process with threads
            os.setpriority(os.PRIO_PROCESS, process.pid, NICENESS)
        except OSError:
            pass
        try:
            out, err = await asyncio.wait_for(process.communicate(), TIMEOUT_SECONDS)
        except TimeoutError:
            _kill(process)
            await process.wait()  # reaped: no zombie left behind
            log.warning("console.audit_timeout", pid=process.pid, args=list(args),
                        seconds=round(time.monotonic() - started, 3))
            raise TookTooLong from None
    except BaseException:  # cancelled (or failed) while the child runs: it must not outlive the request
        if process.returncode is None:
            _kill(process)
            await process.wait()
        raise
    finally:
        SLOT.child = None
    return Finished(process.returncode or 0, out, err, time.monotonic() - started)


def _tool_error(request: Request, staff: Staff, deliberation_id: str, done: Finished, event: str) -> Response:
    """The tool failed (a server unreachable, bad input, a crash): the CLI's own one-line message when it gave one
    (``error 错误: …``, never a password), else a generic one; the stderr tail goes to the log."""
    tail = done.stderr.decode("utf-8", "replace")[-STDERR_TAIL:]
    log.error(event, account_id=staff.account.id, deliberation_id=deliberation_id, code=done.code,
              seconds=round(done.seconds, 3), stderr_tail=tail)
    lines = [line for line in tail.splitlines() if line.startswith("error 错误:")]
    tr = page_translator(request)
    reason = lines[-1].removeprefix("error 错误:").strip() if lines else tr.gettext(
        "the check tool stopped with exit code %(code)s; the server log has the details (console.audit_failed)",
        code=done.code)
    return message_page(request, 502, N_("The check could not run"),
                        text=tr.gettext("No verdict was reached: %(reason)s. Contact the operator.", reason=reason),
                        back_url=f"/console/d/{deliberation_id}/audit", back_label=BACK)


def _busy(request: Request, deliberation_id: str) -> Response:
    response = message_page(request, 503, N_("Another check is running"), N_(
        "This server runs one check or export at a time so residents' voting is not slowed. Try again in about "
        "half a minute."), back_url=f"/console/d/{deliberation_id}/audit", back_label=BACK)
    response.headers["Retry-After"] = RETRY_AFTER
    return response


def _too_long(request: Request, deliberation_id: str) -> Response:
    return message_page(request, 504, N_("The check took too long and was stopped"), N_(
        "The check ran for more than %(minutes)s minutes and was stopped without a verdict. Try again at a quieter "
        "time, or ask the operator to run `yishi audit verify` on the server."),
        minutes=max(1, round(TIMEOUT_SECONDS / 60)), back_url=f"/console/d/{deliberation_id}/audit", back_label=BACK)


async def _staff_for(request: Request, deliberation_id: str) -> Staff | Response:
    """The signed-in member (one of :data:`AUDIT_STAFF`, community rule applied) for a stream that exists; else
    the page to answer with (an unknown id gets the same 404 as a hidden one).

    Any stream with events is known here (an auditor audits a topic, a ticket or a ledger too), so the wall
    decides who reaches it: ``require`` hides from a committee every id that is not a deliberation or meeting of
    its own community (services/console.py ``may_see_deliberation``)."""
    staff = await require(request, *AUDIT_STAFF)
    if isinstance(staff, Response):
        return staff
    state = request.app.state
    try:
        known = await deliberation_info(state.pool, deliberation_id) is not None
        known = known or (await state.store.head(deliberation_id))[0] > 0
    except UNAVAILABLE:
        return unavailable(request)
    if not known:
        return not_found_page(request)
    return staff


@router.get("/console/d/{deliberation_id}/audit")
async def audit_page(request: Request, deliberation_id: str) -> Response:
    """What is checked, a link that runs the check (``?run=1``: no state changes) and the export download."""
    staff = await _staff_for(request, deliberation_id)
    if isinstance(staff, Response):
        return staff
    if (whole := deliberation_of(deliberation_id)) != deliberation_id:  # a re-vote's box: audit its deliberation
        return RedirectResponse(f"/console/d/{whole}/audit", status_code=303)
    context: dict[str, Any] = {"report": None}
    if request.query_params.get("run") == "1":
        if SLOT.lock.locked():
            log.info("console.audit_busy", account_id=staff.account.id, deliberation_id=deliberation_id)
            return _busy(request, deliberation_id)
        async with SLOT.lock:
            try:
                done = await run_cli(request.app.state.settings, "audit", "verify", deliberation_id, "--json")
            except TookTooLong:
                return _too_long(request, deliberation_id)
        try:
            report = json.loads(done.stdout) if done.code in (0, 1) else None
        except ValueError:
            report = None
        if not isinstance(report, dict) or "checks" not in report:
            return _tool_error(request, staff, deliberation_id, done, "console.audit_failed")
        log.info("console.audit_verified", account_id=staff.account.id, deliberation_id=deliberation_id,
                 ok=bool(report.get("ok")), seconds=round(done.seconds, 3))
        checks = [c for c in report["checks"] if isinstance(c, dict)]
        context = {"report": report, "seconds": round(done.seconds, 1),
                   "interim": any(c.get("interim") for c in checks),
                   "results": [(c.get("subject", ""), qid, r) for c in checks if c.get("name") == "recount"
                               and c.get("ok") and isinstance(c.get("results"), dict)
                               for qid, r in c["results"].items() if isinstance(r, dict)]}
    return render(request, "console_audit.html", no_store=True, staff=staff, logout=staff.form(),
                  deliberation_id=deliberation_id, **context)


def readme(deliberation_id: str, with_verifier: bool) -> str:
    """README.txt of the zip, Chinese then English."""
    missing = ("" if with_verifier else
               "本服务器上没有 verify_export.py：请从 Yishi 源代码的 tools/verify_export.py 取得。\n"
               "verify_export.py was not available on this server: take tools/verify_export.py from the Yishi "
               "source.\n\n")
    return (f"议事 Yishi 审计导出 / audit export: {deliberation_id}\n\n{missing}"
            "export/ 是 `yishi audit export` 写出的文件夹，manifest.json 记录每个文件的 sha256。"
            "用 Python 3.9 或更新版本（只需标准库）核验：\n\n"
            "    python3 verify_export.py export\n\n"
            "退出码 0：全部核验通过；1：有核验未通过（报告写明检查项和序号）；2：文件夹不是可读的导出。\n"
            "verify_export.py 自带各表决规则的门槛（民法典第278条等），用它们重新计票；rule.json 与之不符即不通过。\n"
            "导出不含业主姓名和电话（roll.json 只有计票字段）；events.jsonl 含每一条事件，包括按业主编号记录的"
            "投票选择，以及工单中录入的文字。请妥善保管。\n\n"
            "export/ is the folder `yishi audit export` writes; manifest.json lists each file's sha256. "
            "Check it with Python 3.9 or newer (standard library only):\n\n"
            "    python3 verify_export.py export\n\n"
            "Exit 0: every check holds; 1: a check fails (the report names it and the seq); 2: not a readable "
            "export.\nverify_export.py carries the thresholds of each rule itself (Civil Code art. 278 and the "
            "others) and recounts with them; a rule.json that states them otherwise fails.\n"
            "The export has no owners' names or phone numbers (roll.json keeps the counting fields "
            "only); events.jsonl holds every event, including each ballot's choice by owner id and the text typed "
            "into escalation tickets. Keep it safe.\n")


def build_zip(export_dir: Path, target: Path, deliberation_id: str) -> bool:
    """``target``: ``yishi-audit-ID/`` with README.txt, verify_export.py and ``export/`` (the verifier fails its
    ``manifest`` check on any file the export did not list, so the extras sit beside it). True if the
    verifier was included."""
    root = f"yishi-audit-{safe_filename(deliberation_id)}"
    found = verifier()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{root}/README.txt", readme(deliberation_id, found is not None))
        if found is not None:
            archive.write(found, f"{root}/verify_export.py")
        for path in sorted(export_dir.rglob("*")):
            if path.is_file():
                archive.write(path, f"{root}/export/{path.relative_to(export_dir).as_posix()}")
    return found is not None


def _chunks(handle: Any, size: int = 256 * 1024) -> Iterator[bytes]:
    """The open zip in chunks (run in Starlette's thread pool); closed however the download ends."""
    try:
        while chunk := handle.read(size):
            yield chunk
    finally:
        handle.close()


@router.get("/console/d/{deliberation_id}/audit/export.zip")
async def export_zip(request: Request, deliberation_id: str) -> Response:
    """``yishi audit export`` into a temporary folder, zipped with the standalone verifier and a README."""
    staff = await _staff_for(request, deliberation_id)
    if isinstance(staff, Response):
        return staff
    if SLOT.lock.locked():
        log.info("console.audit_busy", account_id=staff.account.id, deliberation_id=deliberation_id)
        return _busy(request, deliberation_id)
    workdir = Path(tempfile.mkdtemp(prefix="yishi-audit-"))
    try:
        async with SLOT.lock:
            try:
                done = await run_cli(request.app.state.settings, "audit", "export", deliberation_id, "--out",
                                     str(workdir / "export"))
            except TookTooLong:
                return _too_long(request, deliberation_id)
        if done.code != 0:
            return _tool_error(request, staff, deliberation_id, done, "console.audit_export_failed")
        target = workdir / "export.zip"
        with_verifier = await asyncio.to_thread(build_zip, workdir / "export", target, deliberation_id)
        size = target.stat().st_size
        handle = target.open("rb")  # open before the folder goes: the data lives until the download closes it
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, True)
    log.info("console.audit_exported", account_id=staff.account.id, deliberation_id=deliberation_id,
             bytes=size, seconds=round(done.seconds, 3), verifier=with_verifier)
    if not with_verifier:
        log.warning("console.audit_verifier_missing", looked_in=[str(path) for path in VERIFIERS])
    name = f"yishi-audit-{safe_filename(deliberation_id)}.zip"
    return StreamingResponse(_chunks(handle), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Content-Length": str(size),
        "Cache-Control": "no-store"})
