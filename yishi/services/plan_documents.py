"""The documents of a matter (issue 21, item 1): the plan and the cost table the committee uploads before voting
opens, for every owner to read from the ballot.

The bytes go to ``attachment_blobs`` (yishi/services/attachments.py), the store the tickets' attachments use: the
same kinds of file (a photo or a PDF, the type read from the bytes, at most 5 MB), kept once by SHA-256 and served
from a route that checks who may see them. The other two stores are narrower: ``blobs`` keeps a topic's photos and
``posting_photos`` the photo of a posted sheet (HEIC too, no PDF). A ``DocumentAttached`` event in the
deliberation's stream names the file by hash, with its name, size, type and who uploaded it, so the hash chain
covers what owners were shown; an auditor checks the bytes against it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import asyncpg

from activities.eventstore import EventStore, StoredEvent
from activities.stages import to_new
from domain.errors import N_, DomainError
from domain.stage_events import DocumentAttached
from yishi.services import attachments

KINDS = ("plan", "cost_table")
READ_TYPES = ("DocumentAttached", "BoxOpened", "VoteRoundOpened")
"""What :func:`attach` and the console read of a stream: the documents, and whether voting has opened."""


class DocumentError(DomainError):
    """A document that cannot be attached now; the message says why and what to do."""


def documents(events: Iterable[StoredEvent]) -> list[DocumentAttached]:
    """The documents attached to the matter, in the order they were uploaded (one per file: the first upload)."""
    seen: dict[str, DocumentAttached] = {}
    for event in events:
        if event.type == "DocumentAttached" and event.payload["sha256"] not in seen:
            seen[event.payload["sha256"]] = DocumentAttached.model_validate(event.payload)
    return list(seen.values())


def voting_opened(events: Iterable[StoredEvent], now: datetime) -> bool:
    """Whether voting has opened: a round opened, or a ballot box whose opening time has come."""
    for event in events:
        if event.type == "VoteRoundOpened":
            return True
        if event.type == "BoxOpened" and datetime.fromisoformat(event.payload["opens_at"]) <= now:
            return True
    return False


async def attach(store: EventStore, pool: asyncpg.Pool, deliberation_id: str, kind: str, name: str, data: bytes,
                 *, by: str, now: datetime) -> DocumentAttached:
    """Keep the file and record it in the deliberation's stream; the same file again is recorded once.

    Refused (:class:`DocumentError`, :class:`~yishi.services.attachments.AttachmentError`) once voting has opened:
    owners who already voted would not have seen it."""
    if kind not in KINDS:
        raise DocumentError(N_("choose what the document is: the plan or the cost table"))
    name = (name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].strip() or "document")[:200]
    blob = attachments.check(name, data)
    events = await store.read_types(deliberation_id, READ_TYPES)
    if voting_opened(events, now):
        raise DocumentError(N_("voting has opened, so no document can be added: owners who already voted would not "
                               "have seen it; post it on the notice board and tell the owners"))
    known = {d.sha256: d for d in documents(events)}
    if blob.sha256 in known:
        return known[blob.sha256]
    await attachments.store(pool, blob)
    event = DocumentAttached(at=now, kind=kind, name=name, sha256=blob.sha256, bytes=len(data),  # type: ignore[arg-type]
                             media_type=blob.media_type, by=by)
    await store.append(deliberation_id, to_new([event]))
    return event


async def document(store: EventStore, pool: asyncpg.Pool, deliberation_id: str,
                   sha256: str) -> tuple[DocumentAttached, attachments.Blob] | None:
    """A document of this deliberation with its bytes, or None if the deliberation names no such file."""
    named = {d.sha256: d for d in documents(await store.read_types(deliberation_id, ["DocumentAttached"]))}
    if sha256 not in named:
        return None
    blob = await attachments.load(pool, sha256)
    return None if blob is None else (named[sha256], blob)
