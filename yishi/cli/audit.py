"""``yishi audit``: verify a deliberation against its Temporal witnesses, or export it for outside auditors; keep
the histories of closed runs (``keep``: what the worker does every few minutes).

Connection settings come from ``YISHI_DATABASE_URL`` and ``YISHI_TEMPORAL_ADDRESS``, else from the running
``yishi up`` of ``--data-dir``; the kept histories from ``YISHI_HISTORIES_DIR`` (default ``<data dir>/histories``).
Exit codes: 0 every check holds (or the export is written), 1 a check failed or a server cannot be reached, 2 bad
input (unknown deliberation, unusable output directory). Never a traceback.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from yishi.cli.stack import data_dir_option

T = TypeVar("T")

_LABELS = {
    "temporal_runs": "Temporal runs 工作流运行记录",
    "replay": "replay 重放",
    "chain": "hash chain 哈希链",
    "checkpoints": "checkpoints 检查点",
    "sealed_head": "published head 公告终点哈希",
    "after_seal": "after the seal 封箱之后",
    "roll": "roll 名册",
    "recount": "recount 重新计票",
    "stream_head": "stream head 流头记录",
    "links": "personal links 投票链接",
    "kept_histories": "kept histories 工作流历史存档",
    "tickets": "escalation tickets 工单",
}


class Unreachable(RuntimeError):
    """A server named in the settings cannot be reached; the message says which and where."""


class BadInput(ValueError):
    """Exit 2."""


def _database_place(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or ''}"  # never the password


async def _clients() -> tuple[Any, Any, Any]:
    import asyncpg

    from activities.db import create_pool
    from yishi.settings import get_settings
    from yishi.temporal_client import connect
    from yishi.uprecord import NotRunningError, with_running_stack

    try:
        settings = with_running_stack(get_settings(), ("temporal", "database"))
    except NotRunningError as exc:
        raise Unreachable(str(exc)) from None
    try:
        client = await asyncio.wait_for(connect(settings), timeout=15)
    except (RuntimeError, OSError, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        raise Unreachable(f"cannot reach Temporal at {settings.temporal_address}: {reason}") from None
    try:
        pool = await asyncio.wait_for(create_pool(settings.database_url, min_size=1, max_size=4), timeout=15)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        place = _database_place(settings.database_url)
        raise Unreachable(f"cannot reach PostgreSQL at {place}: {exc or type(exc).__name__}") from None
    return client, pool, settings


def _run(work: Callable[[Any, Any, Any], Awaitable[T]]) -> T:
    """Connect, run ``work(client, pool, settings)``, close; turn known failures into a message and an exit
    code."""
    from temporalio.service import RPCError

    from yishi.services.audit_temporal import AuditInputError

    async def main() -> T:
        client, pool, settings = await _clients()
        try:
            return await work(client, pool, settings)
        finally:
            await pool.close()

    try:
        return asyncio.run(main())
    except Unreachable as exc:
        _fail(str(exc), 1)
    except (AuditInputError, BadInput) as exc:
        _fail(str(exc), 2)
    except RPCError as exc:
        _fail(f"Temporal refused the request: {exc}", 1)
    except OSError as exc:
        _fail(f"connection lost: {exc}", 1)
    raise AssertionError("unreachable")


def _fail(message: str, code: int) -> None:
    click.echo(f"error 错误: {message}", err=True)
    raise SystemExit(code)


@click.group("audit")
def audit() -> None:
    """Auditors 审计: verify a deliberation or export it for independent verification."""


def render(report: Any) -> str:
    """A readable report; the first failure is repeated at the end with the seq it names."""
    lines = [f"Audit of 审计 {report.deliberation_id}"]
    for check in report.checks:
        mark = "OK  " if check.ok else "FAIL"
        subject = f" [{check.subject}]" if check.subject else ""
        lines.append(f"  {mark} {_LABELS.get(check.name, check.name)}{subject}: {check.detail}")
    lines += render_links(report.links)
    if report.ok:
        lines.append("Result 结论: every check holds 全部核验通过")
    else:
        first = report.failures[0]
        where = f" at seq {first.seq}" if first.seq is not None else ""
        lines.append(f"Result 结论: FAILED 核验未通过 — {len(report.failures)} checks fail; first: "
                     f"{first.name}{where} ({first.subject})")
    return "\n".join(lines)


def render_links(links: dict[str, Any]) -> list[str]:
    """What staff did to the personal links: each reissue and the ballots cast through it, each disclosure."""
    if not links:
        return []
    lines = ["Links 投票链接 (what staff did to them 工作人员的操作):"]
    for r in links.get("reissues", []):
        lines.append(f"  reissued 重新发放: seq {r['seq']} owner {r['owner_id']} generation {r['generation']} "
                     f"by {r['by']} ({r['via']}) at {r['at']}, {r['reason']}")
    for r in links.get("revocations", []):
        lines.append(f"  revoked 作废: seq {r['seq']} owner {r['owner_id']} generation {r['generation']} "
                     f"by {r['by']} ({r['via']}) at {r['at']}, {r['reason']}")
    for b in links.get("reissued_ballots", []):
        lines.append(f"  ballot on a reissued link 经重新发放的链接投票: {b['stream_id']} seq {b['seq']} owner "
                     f"{b['owner_id']}{' by ' + b['cast_by'] if b.get('cast_by') else ''}, link generation "
                     f"{b['link_generation']} reissued by {b['reissued_by']} at {b['reissued_at']}")
    for d in links.get("disclosures", []):
        lines.append(f"  live links shown 显示/打印/下载: seq {d['seq']} {d['format']} by {d['by']} ({d['via']}) "
                     f"at {d['at']}, {d['households']} households 户")
    for b in links.get("untraced_ballots", []):
        lines.append(f"  UNRECORDED link 链接未记录: {b['stream_id']} seq {b['seq']} owner {b['owner_id']} "
                     f"generation {b['link_generation']}")
    return lines


@audit.command("verify")
@click.argument("deliberation_id")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@data_dir_option
def verify_cmd(deliberation_id: str, as_json: bool) -> None:
    """Replay, check the hash chain and the checkpoints, recount; exit 0 only when all hold."""
    from yishi.services.audit import verify

    report = _run(lambda client, pool, settings: verify(deliberation_id, pool=pool, client=client,
                                                        histories=_histories(settings)))
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(render(report))
    raise SystemExit(0 if report.ok else 1)


@audit.command("export")
@click.argument("deliberation_id")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="A new or empty directory.")
@data_dir_option
def export_cmd(deliberation_id: str, out_dir: Path) -> None:
    """Write events.jsonl, roll.json, rule.json, result.json, histories/ and manifest.json."""
    from yishi.services.audit import export

    manifest = _run(lambda client, pool, settings: export(deliberation_id, out_dir, pool=pool, client=client,
                                                          histories=_histories(settings)))
    for entry in manifest["files"]:
        click.echo(f"{entry['sha256']}  {entry['path']}")
    click.echo(f"wrote 已导出 {len(manifest['files'])} files + manifest.json to {out_dir}; "
               f"check it with: python tools/verify_export.py {out_dir}")


def _histories(settings: Any) -> Any:
    from activities.history_store import HistoryStore

    return HistoryStore(settings.histories_path)


@audit.command("keep")
@data_dir_option
def keep_cmd() -> None:
    """Keep the histories of closed runs now (the worker does it every YISHI_HISTORY_SWEEP_SECONDS).

    保存已结束工作流的历史（worker 每隔几分钟自动执行）。Prints each history kept now; exit 0.
    """
    from activities.eventstore import EventStore
    from activities.keeper import HistoryKeeper

    async def keep(client: Any, pool: Any, settings: Any) -> list[Any]:
        keeper = HistoryKeeper(EventStore(pool), _histories(settings))
        return await keeper.sweep(client, settings.task_queue)

    kept = _run(keep)
    for ref in kept:
        click.echo(f"{ref.sha256}  {ref.workflow_id} {ref.run_id}")
    click.echo(f"kept 已保存 {len(kept)} histories 份历史")
