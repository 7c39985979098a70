"""The kept histories: a content-addressed file store outside PostgreSQL (docs/audit.md, "Kept histories").

A closed run's history is written once, as the bytes :func:`history_bytes` gives (Temporal's JSON form of the
history: the form ``temporal workflow show --output json`` prints and ``WorkflowHistory.from_json`` and the Replayer
read, with sorted keys and no whitespace), to

    <root>/<deliberation>/<workflow id>/<run id>/<sha256 of the bytes>.json

(the deliberation and the workflow id percent-encoded, so ``elevator-…/box-1`` stays one folder name). The name is
the content's address: a copy whose bytes no longer hash to its name was changed after it was written. Each file is
written to a temporary name, fsynced, renamed into place and its folder fsynced, so a crash leaves the whole file
or none. The root defaults to ``<data dir>/histories`` (``YISHI_HISTORIES_DIR``); it is private like the data dir
(folders 0700, files 0600).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from domain.kept import SHA256, deliberation_of_workflow

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_SHA = re.compile(SHA256)

CLOSED_AS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "COMPLETED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "FAILED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "TIMED_OUT",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "CANCELED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "TERMINATED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "CONTINUED_AS_NEW",
}


def status_of(history: WorkflowHistory) -> str:
    """The run's status as its history ends (a visibility record can still say RUNNING for a closed run)."""
    if not history.events:
        return "UNKNOWN"
    return CLOSED_AS.get(history.events[-1].event_type, "RUNNING")


def workflow_type_of(history: WorkflowHistory) -> str:
    first = history.events[0] if history.events else None
    if first is None or not first.HasField("workflow_execution_started_event_attributes"):
        return ""
    return first.workflow_execution_started_event_attributes.workflow_type.name


def continued_as(history: WorkflowHistory) -> str | None:
    """The run id this run continued as, if it ended by continuing as new."""
    last = history.events[-1] if history.events else None
    if last is not None and last.HasField("workflow_execution_continued_as_new_event_attributes"):
        return last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    return None


def history_bytes(history: WorkflowHistory) -> bytes:
    """The kept form of a history: its JSON (protobuf's JSON mapping), keys sorted, no whitespace, UTF-8."""
    return json.dumps(history.to_json_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def parse_history(workflow_id: str, data: bytes) -> WorkflowHistory:
    """A kept (or exported) history back as a :class:`WorkflowHistory`; ValueError when it is not one."""
    try:
        history = WorkflowHistory.from_json(workflow_id, data.decode("utf-8"))
    except Exception as exc:  # the JSON parser and protobuf raise their own kinds
        raise ValueError(f"not a Temporal history: {type(exc).__name__}: {exc}") from None
    if not history.events:
        raise ValueError("not a Temporal history: no events")
    return history


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _segment(name: str) -> str:
    """One path segment for an id: percent-encoded, never ``.`` or ``..``."""
    encoded = quote(name, safe="")
    return "%2E" + encoded[1:] if encoded.startswith(".") else encoded


@dataclass(frozen=True)
class KeptFile:
    """One kept copy of a run's history."""

    workflow_id: str
    run_id: str
    sha256: str
    """The hash its name states."""
    path: Path

    def read(self) -> bytes:
        return self.path.read_bytes()


class HistoryStore:
    """The content-addressed store of kept histories under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"HistoryStore({str(self.root)!r})"

    def run_dir(self, workflow_id: str, run_id: str) -> Path:
        if not _RUN_ID.match(run_id):
            raise ValueError(f"'{run_id}' is not a run id")
        return self.root / _segment(deliberation_of_workflow(workflow_id)) / _segment(workflow_id) / run_id

    def files(self, workflow_id: str, run_id: str) -> list[KeptFile]:
        """The kept copies of one run (normally one), by name."""
        folder = self.run_dir(workflow_id, run_id)
        if not folder.is_dir():
            return []
        return [KeptFile(workflow_id, run_id, path.stem, path) for path in sorted(folder.glob("*.json"))
                if _SHA.match(path.stem)]

    def runs(self, workflow_id: str) -> list[str]:
        """Run ids with a kept copy, for one workflow id."""
        folder = self.run_dir(workflow_id, "x").parent
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and _RUN_ID.match(p.name)) \
            if folder.is_dir() else []

    def workflows(self, deliberation_id: str) -> list[str]:
        """Workflow ids with kept copies filed under the deliberation (its own and its ``<id>/…`` children)."""
        folder = self.root / _segment(deliberation_of_workflow(deliberation_id))
        if not folder.is_dir():
            return []
        found = sorted(unquote(p.name) for p in folder.iterdir() if p.is_dir())
        return [w for w in found if w == deliberation_id or w.startswith(deliberation_id + "/")]

    def write(self, workflow_id: str, run_id: str, data: bytes) -> KeptFile:
        """Write ``data`` as a kept copy of the run, durably; an intact copy with the same bytes is left alone."""
        digest = sha256_hex(data)
        folder = self.run_dir(workflow_id, run_id)
        path = folder / f"{digest}.json"
        if path.is_file() and sha256_hex(path.read_bytes()) == digest:
            return KeptFile(workflow_id, run_id, digest, path)
        self._make_dirs(folder)
        temporary = folder / f".{digest}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _fsync_dir(folder)
        return KeptFile(workflow_id, run_id, digest, path)

    def _make_dirs(self, folder: Path) -> None:
        missing = []
        for parent in (folder, *folder.parents):
            if parent.is_dir():
                break
            missing.append(parent)
        for created in reversed(missing):
            created.mkdir(mode=0o700, exist_ok=True)
            _fsync_dir(created.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
