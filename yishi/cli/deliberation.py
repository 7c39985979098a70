"""``yishi start|status|task``: start a procedure, show where it stands, complete a human task.

They use YISHI_TEMPORAL_ADDRESS and YISHI_DATABASE_URL, else the running ``yishi up`` of ``--data-dir``. Exit 2
with a message on bad input or a refused task (wrong role, stage or task id), never a traceback.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from domain.errors import DomainError
from yishi.cli.stack import data_dir_option, stack_settings
from yishi.i18n import both, translator
from yishi.settings import Settings

T = TypeVar("T")


def fail(message: str) -> None:
    click.echo(message, err=True)
    raise SystemExit(2)


def cli_settings() -> Settings:
    return stack_settings("temporal", "database")


async def with_pool(settings: Settings, fn: Callable[[Any], Awaitable[T]]) -> T:
    from activities.db import create_pool

    pool = await create_pool(settings.database_url, max_size=2)
    try:
        return await fn(pool)
    finally:
        await pool.close()


def key_values(values: tuple[str, ...], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            fail(both("%(option)s must be NAME=VALUE, got '%(item)s'", option=what, item=item))
        out[key.strip()] = value.strip()
    return out


def parse_options(values: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, raw in key_values(values, "--option").items():
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw  # a plain string, e.g. current_company=旧物业
    return out


def tally_defaults(settings: Settings) -> dict[str, Any]:
    """The operator's counting settings (``YISHI_PROXY_LIMIT``, ``YISHI_DEEM_*``); ``--option`` overrides them."""
    return {"proxy_limit": settings.proxy_limit, "deem_silent": settings.deem_silent,
            "deem_over_half": settings.deem_over_half}


@click.command("start")
@click.argument("procedure", type=click.Choice(["elevator", "property", "consultation"]))
@click.option("--roll", "roll_path", required=True, help="Owners roll, .csv or .xlsx (frozen for this deliberation).")
@click.option("--scope", "scope_text", default="", help="building=3,entrance=2 | building=3 | rooms=… | all")
@click.option("--title", default=None, help="Title on notices (default: the procedure's name).")
@click.option("--rule", "rule_id", default=None, help="Decision rule (default: the procedure's).")
@click.option("--period", "periods", multiple=True, help="NAME=DURATION: P15D, PT30S or 10wd (repeatable).")
@click.option("--option", "options", multiple=True,
              help='Procedure option KEY=VALUE (JSON allowed), e.g. cost_total="600000", '
                   'candidates=\'[{"id":"A","name":"安居物业"}]\', milestones=\'["选址"]\'.')
@click.option("--previous", "previous_id", default=None, help="An earlier attempt this one follows.")
@click.option("--initiator-role", default=None,
              help="owner|committee (elevator); owners_committee|property_committee|petition (property); "
                   "resident|grid_worker|committee (consultation). Default: the committee.")
@click.option("--initiated-by", default="committee", show_default=True, help="Who: an owner id, a name.")
@click.option("--signer", "signers", multiple=True, help="Owner id who signed the petition (repeatable).")
@click.option("--community", default="default", show_default=True)
@data_dir_option
def start(procedure: str, roll_path: str, scope_text: str, title: str | None, rule_id: str | None,
          periods: tuple[str, ...], options: tuple[str, ...], previous_id: str | None, initiator_role: str | None,
          initiated_by: str, signers: tuple[str, ...], community: str) -> None:
    """Start a procedure (elevator, property, consultation) and print its deliberation id."""
    from pydantic import ValidationError

    from domain.legal_calendar import parse_holiday_file
    from domain.procedures import get_procedure
    from domain.roll import Scope, load_roll
    from yishi.services.files import file_limits, read_bounded
    from yishi.services.procedures import StartRequest, start_procedure
    from yishi.temporal_client import connect

    settings = cli_settings()
    try:
        limits = file_limits(settings)
        roll = load_roll(read_bounded(roll_path, limits.max_bytes), roll_path, limits)
        holiday = (parse_holiday_file(read_bounded(settings.holiday_file), str(settings.holiday_file))
                   if settings.holiday_file else None)
        req = StartRequest(procedure=procedure, title=title or get_procedure(procedure).name_zh,
                           scope=Scope.parse(scope_text), rule_id=rule_id, periods=key_values(periods, "--period"),
                           options=tally_defaults(settings) | parse_options(options), previous_id=previous_id,
                           initiator_role=initiator_role,
                           initiated_by=initiated_by, petition_signers=signers, community=community)

        async def go(pool: Any) -> tuple[str, dict[str, Any]]:
            from activities.eventstore import EventStore
            from yishi.services.companies import deliberation_flags

            client = await connect(settings)
            did, _ = await start_procedure(client, pool, roll, req, task_queue=settings.task_queue,
                                           holiday_file=holiday)
            flags = await deliberation_flags(pool, EventStore(pool), did) if procedure == "property" else {}
            return did, flags

        did, flags = asyncio.run(with_pool(settings, go))
        click.echo(did)
        for line in black_list_lines(flags):
            click.echo(line, err=True)
    except OSError as exc:
        fail(f"{roll_path}: {exc.strerror or exc}")
    except DomainError as exc:
        fail(both(exc))
    except ValidationError as exc:
        fail(both("invalid option: %(where)s: %(error)s", where=exc.errors()[0]["loc"], error=exc.errors()[0]["msg"]))


def black_list_lines(candidates: dict[str, Any], lang: str | None = None) -> list[str]:
    """A warning per property-replacement candidate on a street's latest black list (shown, never refused): in
    ``lang``, or in both languages."""
    from yishi.i18n.points import black_list_flag

    lines = []
    for cid, candidate in candidates.items():
        for flag in candidate.get("black_list", ()):
            texts = [black_list_flag(translator(code), cid, candidate, flag) for code in ([lang] if lang else
                                                                                          ["zh", "en"])]
            lines.append("⚠ " + " / ".join(texts))
    return lines


def _render(status: dict[str, Any], lang: str) -> str:
    from domain.result_summary import ResultSummary, summary_lines
    from domain.tally_result import TallyResult
    from yishi.cli.tally import render
    from yishi.i18n import calendar_fallback

    lines = [f"{status['deliberation_id']}  {status.get('title', '')}",
             f"stage: {status['stage']}" + (f"  (until {status['deadline']})" if status["deadline"] else "")]
    if status.get("deadline_fallback_years"):
        lines.append(f"  ⚠ {calendar_fallback(status['deadline_fallback_years'], lang)}")
    lines.append(f"head: seq={status['head']['seq']} hash={status['head']['hash']}")
    if status["outcome"]:
        lines.append(f"outcome: {status['outcome']}")
    if status["rounds"]:
        last = status["rounds"][-1]
        paper = f", paper ballots entered until {last['paper_entry_until']}" if last.get("paper_entry_until") else ""
        lines.append(f"vote round {last['round']}: closes {last['closes_at']}{paper}")
    for task in status["open_tasks"]:
        title = task["title_en"] if lang == "en" else task["title_zh"]
        due = f" due {task['due_at']}" if task["due_at"] else ""
        late = " OVERDUE" if task.get("overdue") else ""
        lines.append(f"task {task['task_id']}: {title} [{'/'.join(task['roles'])} → {'|'.join(task['outcomes'])}]"
                     f"{due}{late}")
        if task.get("due_fallback_years") and task["due_fallback_years"] != status.get("deadline_fallback_years"):
            lines.append(f"  ⚠ {calendar_fallback(task['due_fallback_years'], lang)}")
    if status.get("deliveries"):
        counts = ", ".join(f"{state} {n}" for state, n in sorted(status["deliveries"].items()))
        lines.append(f"notice deliveries: {counts} (yishi channels board {status['deliberation_id']})")
    for failed in status["notices_failed"]:
        lines.append(f"notice {failed['notice_id']} NOT delivered via {failed['channel']}: {failed['error']}")
    lines += black_list_lines(status.get("candidates") or {}, lang)
    for question, result in status["tallies"].items():
        lines += [f"-- {question}", render(TallyResult.model_validate(result), question, lang)]
    for summary in status.get("result", []):
        lines += [f"-- {'result' if lang == 'en' else '公示'} {summary['question_id']}",
                  *summary_lines(ResultSummary.model_validate(summary), lang)]
    if status.get("public_url"):
        lines.append(f"{'public page' if lang == 'en' else '公示页面'}: {status['public_url']}")
    return "\n".join(lines)


@click.command("status")
@click.argument("deliberation_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON; the current tally is under `tally`.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@data_dir_option
def status(deliberation_id: str, as_json: bool, lang: str) -> None:
    """Show a deliberation's stage, deadlines, open tasks, current tally and published figures (from its stream),
    and the address of its public page (`public_url`)."""
    from activities.eventstore import EventStore
    from yishi.services.procedures import procedure_status
    from yishi.services.results import public_url

    settings = stack_settings("database")
    try:
        result = asyncio.run(with_pool(settings, lambda pool: procedure_status(EventStore(pool), deliberation_id)))
    except DomainError as exc:
        fail(translator(lang).error(exc))
        return
    base = settings.public_base_url or f"http://{settings.web_host}:{settings.web_port}"
    result["public_url"] = public_url(base, deliberation_id)
    click.echo(json.dumps(result, ensure_ascii=False, indent=2) if as_json else _render(result, lang))


@click.command("task")
@click.argument("deliberation_id")
@click.argument("task_id")
@click.option("--role", required=True, help="committee, street_office, grid_worker, or a party's role.")
@click.option("--outcome", required=True, help="One of the task's outcomes (shown by `yishi status`).")
@click.option("--note", default="", help="Reason or remark (required for some outcomes).")
@click.option("--document-no", default=None, help="Document number, e.g. of a permit.")
@click.option("--actor", default="", help="Who acts (name or account).")
@data_dir_option
def task(deliberation_id: str, task_id: str, role: str, outcome: str, note: str, document_no: str | None,
         actor: str) -> None:
    """Complete a human task; the workflow checks role, stage and outcome and refuses with a reason."""
    from workflows.common import TaskCompletion
    from yishi.services.procedures import RefusedError, complete_task
    from yishi.temporal_client import connect

    settings = cli_settings()
    completion = TaskCompletion(task_id=task_id, role=role, outcome=outcome, note=note, document_no=document_no,
                                actor=actor)

    async def go() -> Any:
        return await complete_task(await connect(settings), deliberation_id, completion)

    try:
        receipt = asyncio.run(go())
    except RefusedError as exc:
        fail(both(exc))
        return
    click.echo(f"{receipt.task_id} done: seq={receipt.seq} hash={receipt.hash}")


@click.command("feedback")
@click.argument("deliberation_id")
@click.option("--owner", "owner_id", required=True, help="The owner whose paper form this is.")
@click.option("--score", type=int, required=True, help="1 (very unsatisfied) to 5 (very satisfied).")
@click.option("--comment", default="")
@click.option("--name", default=None, help="Who types it in (default: the login name).")
@click.option("--role", default="committee", show_default=True, help="In what capacity (committee, grid_worker).")
@data_dir_option
def feedback(deliberation_id: str, owner_id: str, score: int, comment: str, name: str | None, role: str) -> None:
    """Record a resident's satisfaction with a consultation (a paper form), with who typed it in."""
    import os

    from workflows.consultation import FeedbackInput
    from yishi.services.procedures import RefusedError, give_feedback
    from yishi.temporal_client import connect

    settings = cli_settings()
    who = f"{name or os.environ.get('USER') or 'operator'}（{role}）"
    arg = FeedbackInput(owner_id=owner_id, score=score, comment=comment, recorded_by=who)

    async def go() -> Any:
        return await give_feedback(await connect(settings), deliberation_id, arg, update_id=f"feedback:{owner_id}")

    try:
        receipt = asyncio.run(go())
    except RefusedError as exc:
        fail(str(exc))
        return
    click.echo(f"{receipt.task_id} recorded: seq={receipt.seq} hash={receipt.hash}")
