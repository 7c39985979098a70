"""Parsing an uploaded roll in a child process, so that a hostile file never grows or stalls the web process.

The web app streams the upload to ``python -m yishi.services.rollparse``. The child limits its own address space
(``RLIMIT_AS``) before it reads a byte, parses with :func:`domain.roll_parse.parse_roll` within the file limits
(:mod:`domain.filelimits`: byte cap, the XLSX archive checked before it is opened, row cap, cell length, at most 50
problems listed) and writes the rooms, or the problems, back as JSON. The parent kills it past a wall-clock
timeout, and turns a limit hit into a :class:`RollError` that names the limit. One parse runs at a time per web
process (the others wait their turn), at a lower priority, like the audit tool: each may take a core and up to its
memory limit. The parent only rebuilds the rooms the child validated (``model_construct``) and hashes them, off the
event loop.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import weakref
from collections.abc import AsyncIterable
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import orjson
import structlog

from domain.errors import N_, Issue, RollError, Text
from domain.filelimits import MB, FileLimits, too_many_bytes

NICENESS = 10
MAX_RESULT_BYTES = 64 * MB
"""The child's answer: a 200,000-room roll is about 18 MB of JSON."""
STDERR_TAIL = 4096
log = structlog.get_logger(__name__)
ROOM_FIELDS = ("room_id", "building", "entrance", "floor", "area_m2", "owner_id", "owner_name", "phone")


@dataclass(frozen=True)
class RollParseLimits:
    files: FileLimits = field(default_factory=FileLimits)
    memory_bytes: int = 1024 * MB
    timeout_s: float = 300.0

    @classmethod
    def from_settings(cls, settings: Any) -> RollParseLimits:
        from yishi.services.files import file_limits

        return cls(file_limits(settings), settings.roll_parse_memory_mib * MB, settings.roll_parse_timeout_s)


_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    if loop not in _slots:
        _slots[loop] = asyncio.Semaphore(1)
    return _slots[loop]


async def parse_roll_isolated(chunks: AsyncIterable[bytes], filename: str, limits: RollParseLimits) -> Any:
    """The :class:`~domain.roll.Roll` in the file whose bytes ``chunks`` gives, its digest computed; raises
    :class:`RollError` naming the rows at fault or the limit the file hit."""
    out, err, code, started = await _run(chunks, filename, limits, "roll")
    try:
        roll = await asyncio.to_thread(_roll, out, filename, limits)  # 200,000 rooms: seconds of work
    except RollError as exc:
        codes = sorted({issue.code for issue in exc.issues})
        log.info("roll.refused", file=filename, codes=codes, problems=exc.total, code=code,
                 seconds=round(time.monotonic() - started, 3),
                 stderr_tail=err.decode("utf-8", "replace") if "parse-failed" in codes else None)
        raise
    log.info("roll.parsed", file=filename, rooms=len(roll.rooms), seconds=round(time.monotonic() - started, 3))
    return roll


async def parse_grid_isolated(chunks: AsyncIterable[bytes], filename: str, limits: RollParseLimits
                              ) -> tuple[list[tuple[int, dict[str, str]]], dict[str, str], list[Issue]]:
    """A street's grid file read in the child as the roll is (``domain.structure_import.read_rows`` within
    ``limits.files``): its rows, its headers and the problems of its cells; a file over the limits, or a child
    that crashed or ran out of time or memory, raises :class:`RollError` with the problems."""
    out, _, code, started = await _run(chunks, filename, limits, "grid")
    try:
        answer = orjson.loads(out)
    except orjson.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict) or "memory" in answer:
        raise RollError([_crashed(filename, limits) if answer is None else _out_of_memory(filename, limits)])
    if "rows" not in answer:
        raise RollError([Issue(**issue) for issue in answer["issues"]], answer["unlisted"])
    log.info("grid.parsed", file=filename, rows=len(answer["rows"]), code=code,
             seconds=round(time.monotonic() - started, 3))
    return ([(n, cells) for n, cells in answer["rows"]], answer["head"],
            [Issue(**issue) for issue in answer["issues"]])


async def _run(chunks: AsyncIterable[bytes], filename: str, limits: RollParseLimits,
               kind: str) -> tuple[bytes, bytes, int | None, float]:
    """The child's answer (stdout, stderr's tail, exit code) for the file ``chunks`` gives, and when it started."""
    async with _slot():
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "yishi.services.rollparse", str(limits.memory_bytes), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True)
        with suppress(OSError):  # a preexec_fn is unsafe in a process with threads
            os.setpriority(os.PRIO_PROCESS, process.pid, NICENESS)
        try:
            async with asyncio.timeout(limits.timeout_s):
                out, err, _ = await asyncio.gather(_read(process.stdout, MAX_RESULT_BYTES), _tail(process.stderr),
                                                   _feed(process.stdin, chunks, filename, limits.files, kind))
                await process.wait()
        except TimeoutError:
            log.warning("roll.parse_timeout", file=filename, seconds=round(time.monotonic() - started, 3))
            raise RollError([_timed_out(filename, limits)]) from None
        finally:
            if process.returncode is None:
                _kill(process)
                await process.wait()
    return out, err, process.returncode, started


async def _feed(stdin: Any, chunks: AsyncIterable[bytes], filename: str, files: FileLimits, kind: str) -> None:
    size = 0
    try:
        stdin.write(orjson.dumps({"filename": filename, "limits": asdict(files), "kind": kind}) + b"\n")
        async for chunk in chunks:
            size += len(chunk)
            if size > files.max_bytes:
                raise RollError([too_many_bytes(filename, size, files)])
            stdin.write(chunk)
            await stdin.drain()
        stdin.close()
    except (BrokenPipeError, ConnectionResetError):  # the child is gone: what it said (or did not) tells why
        pass


async def _read(stream: Any, cap: int) -> bytes:
    out = bytearray()
    while chunk := await stream.read(1 << 16):
        out += chunk
        if len(out) > cap:
            return b""  # no answer: a crash, as far as the committee can act on it
    return bytes(out)


async def _tail(stream: Any) -> bytes:
    tail = b""
    while chunk := await stream.read(1 << 16):
        tail = (tail + chunk)[-STDERR_TAIL:]
    return tail


def _kill(process: asyncio.subprocess.Process) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _roll(out: bytes, filename: str, limits: RollParseLimits) -> Any:
    """The roll the child validated, rebuilt without validating it again, its digest computed once; or the
    :class:`RollError` the child's answer stands for."""
    from domain.roll import Roll, Room

    try:
        answer = orjson.loads(out)
    except orjson.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        raise RollError([_crashed(filename, limits)])
    if "memory" in answer:
        raise RollError([_out_of_memory(filename, limits)])
    if "issues" in answer:
        raise RollError([Issue(**issue) for issue in answer["issues"]], answer["unlisted"])
    rooms = []
    for row in answer["rooms"]:
        fields = dict(zip(ROOM_FIELDS, row, strict=True))
        fields["area_m2"] = Decimal(fields["area_m2"])
        rooms.append(Room.model_construct(**fields))
    notes = tuple(Issue(**note) for note in answer["notes"])
    roll = Roll.model_construct(rooms=tuple(rooms), notes=notes, source=filename)
    roll.digest()
    return roll


def _timed_out(filename: str, limits: RollParseLimits) -> Issue:
    seconds = f"{limits.timeout_s:,.0f}"
    return Issue(file=filename, code="parse-timeout",
                 text=Text(N_("the file could not be read within %(seconds)s seconds and reading was stopped; delete "
                         "extra sheets, columns and empty rows, or save it as UTF-8 CSV (much faster to read), and "
                         "try again"), seconds=seconds))


def _out_of_memory(filename: str, limits: RollParseLimits) -> Issue:
    mib = limits.memory_bytes // MB
    return Issue(file=filename, code="memory-limit",
                 text=Text(N_("reading the file needs more than the limit of %(mib)s MB of memory and was stopped; "
                         "delete extra sheets, columns and empty rows, or save it as UTF-8 CSV, and try again"),
                 mib=format(mib, ",")))


def _crashed(filename: str, limits: RollParseLimits) -> Issue:
    mib = limits.memory_bytes // MB
    return Issue(file=filename, code="parse-failed",
                 text=Text(N_("reading the file stopped unexpectedly (perhaps over the memory limit of %(mib)s MB); "
                         "nothing was imported; save it as UTF-8 CSV and try again, or ask the operator"),
                 mib=format(mib, ",")))


# ---- the child ---------------------------------------------------------------------------------------------


def _child(memory_bytes: int) -> dict[str, Any]:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    raw = sys.stdin.buffer.read()
    head, _, data = raw.partition(b"\n")
    del raw
    request = orjson.loads(head)
    if request.get("kind") == "grid":
        return _grid_child(data, request)
    from domain.roll_parse import parse_roll

    filename = request["filename"]
    try:
        roll = parse_roll(data, filename, FileLimits(**request["limits"]))
    except RollError as exc:
        listed = [issue.model_dump() for issue in exc.issues if issue.code != "more-issues"]
        return {"issues": listed, "unlisted": exc.total - len(listed)}
    del data
    rooms = [[getattr(room, name) for name in ROOM_FIELDS] for room in roll.rooms]
    for row in rooms:
        row[4] = str(row[4])
    return {"rooms": rooms, "notes": [note.model_dump() for note in roll.notes]}


def _grid_child(data: bytes, request: dict[str, Any]) -> dict[str, Any]:
    from domain.errors import FileIssuesError
    from domain.structure_import import read_rows

    try:
        rows, head, issues = read_rows(data, request["filename"], FileLimits(**request["limits"]))
    except FileIssuesError as exc:
        listed = [issue.model_dump() for issue in exc.issues if issue.code != "more-issues"]
        return {"issues": listed, "unlisted": exc.total - len(listed)}
    return {"rows": rows, "head": head, "issues": [issue.model_dump() for issue in issues.issues()]}


def main() -> None:
    memory_error = b'{"memory": true}'  # made before anything can run out
    try:
        answer = orjson.dumps(_child(int(sys.argv[1])))
    except (MemoryError, SystemError):  # orjson reports an allocation that failed as a SystemError
        answer = memory_error
    if len(answer) > MAX_RESULT_BYTES:  # more text than any roll (the parent would not read it)
        answer = memory_error
    sys.stdout.buffer.write(answer)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
