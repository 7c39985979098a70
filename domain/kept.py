"""Kept Temporal histories: what names a kept copy, and the event that publishes one (pure).

The histories of a deliberation's workflows hold the witnesses of its streams (the checkpoints and the seal of
each ballot box, docs/audit.md). Temporal deletes a closed history after the namespace's retention (30 days in
docker-compose.yml); an elevator procedure runs a year and its disputes come later. So each closed run's full
history is kept outside PostgreSQL, in a content-addressed store (``activities/history_store.py``), and the
SHA-256 of the kept bytes is published where an auditor finds it:

- the result notice of a vote (``NoticePublished.histories``) names the kept history of the ballot box it results
  from (the box closes before the notice is posted);
- a ``HistoryKept`` event in the deliberation's stream ``<id>/histories`` names every kept run, the procedure's
  own closing history included (its hash cannot be in a notice of its own).

Like :mod:`domain.stage_events`: frozen pydantic models, ``at`` passed in, never defaulted from a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SHA256 = r"^[0-9a-f]{64}$"
HISTORIES_SUFFIX = "/histories"


class KeptHistory(BaseModel):
    """One kept run: the SHA-256 of its kept history's bytes (the file's bytes, as written)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workflow_id: str
    run_id: str
    sha256: str = Field(pattern=SHA256)


class HistoryKept(BaseModel):
    """A closed run's history was kept: appended by the keeper to ``<deliberation>/histories``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["HistoryKept"] = "HistoryKept"
    at: AwareDatetime
    workflow_id: str
    run_id: str
    workflow_type: str
    status: str
    """How the run ended (COMPLETED, CONTINUED_AS_NEW, TERMINATED, ...)."""
    sha256: str = Field(pattern=SHA256)
    bytes: int
    events: int


def deliberation_of_workflow(workflow_id: str) -> str:
    """The deliberation a workflow belongs to: its id up to the first ``/`` (children are ``<id>/…``)."""
    return workflow_id.split("/", 1)[0]


def histories_stream(deliberation_id: str) -> str:
    """The stream of a deliberation's ``HistoryKept`` events."""
    return deliberation_id + HISTORIES_SUFFIX


def keep_key(workflow_id: str, run_id: str) -> str:
    """The idempotency key of a run's ``HistoryKept``: one event per run, however often it is kept."""
    return f"kept:{workflow_id}:{run_id}"


class PublishedHash(BaseModel):
    """A kept history's hash as published in a stream: which run, which hash, and where it was read."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str
    run_id: str
    sha256: str
    where: str


def published_hashes(rows_by_stream: Mapping[str, Iterable[Mapping[str, Any]]]) -> list[PublishedHash]:
    """Every kept-history hash the streams publish: ``HistoryKept`` events and result notices' ``histories``."""
    found: list[PublishedHash] = []
    for stream_id, rows in rows_by_stream.items():
        for row in rows:
            payload = row.get("payload") or {}
            refs = [payload] if row.get("type") == "HistoryKept" else \
                list(payload.get("histories") or ()) if row.get("type") == "NoticePublished" else []
            where = f"{row.get('type')} {stream_id} seq {row.get('seq')}"
            found += [PublishedHash(workflow_id=str(ref["workflow_id"]), run_id=str(ref["run_id"]),
                                    sha256=str(ref["sha256"]), where=where)
                      for ref in refs if isinstance(ref, Mapping) and {"workflow_id", "run_id", "sha256"} <= set(ref)]
    return found
