"""The hash chain of a large stream, checked in a second process while this one recounts.

The chain check (canonical JSON and SHA-256 of every event) and the recount are independent CPU work. For
a stream of more than one read batch, each batch is sent, as it is read, to one worker process as
:data:`domain.chain.StoredRecord` tuples (the payload as the database's JSON text: cheap to send, parsed
over there) and checked there as a segment (:func:`domain.chain.verify_records`). Segment *k* starts from
the seq after segment *k − 1*'s last row and from that row's stored hash: if segment *k − 1* is valid its
recomputed head is exactly that hash, and if it is not, its own break comes first. So the first break in
seq order, and its message, are the ones a single pass names.

Small streams, and any machine where the worker cannot be started, are checked in this process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import structlog

from domain.chain import GENESIS_HASH, StoredRecord, verify_records
from yishi.services.audit_checks import Check, short

log = structlog.get_logger(__name__)


class ChainInWorker:
    """Feeds one stream's batches to a worker process; :meth:`check` gives its ``chain`` check."""

    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        self._executor: ProcessPoolExecutor | None = None
        self._segments: list[tuple[Future[tuple[str, int, str]], list[StoredRecord], int, str]] = []
        self._next_seq, self._next_hash = 1, GENESIS_HASH
        self._events = 0
        self.checked_here = 0
        """Segments checked in this process because the worker was not available."""

    def feed(self, records: Sequence[StoredRecord]) -> None:
        """Queue the next batch (in seq order) for checking."""
        if not records:
            return
        if self._executor is None:
            # spawn: a fresh interpreter (forking a process that runs Temporal's client threads is unsafe)
            self._executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        segment = (list(records), self._next_seq, self._next_hash)
        self._segments.append((self._executor.submit(verify_records, segment[0], self.stream_id, *segment[1:]),
                               *segment))
        self._next_seq, self._next_hash = records[-1][1] + 1, records[-1][7]
        self._events += len(records)

    @property
    def fed(self) -> bool:
        return bool(self._segments)

    async def check(self) -> Check:
        """The ``chain`` check, as :func:`yishi.services.audit_checks.check_chain` words it."""
        try:
            head_seq, head = 0, GENESIS_HASH
            for future, records, start_seq, start_hash in self._segments:
                try:
                    outcome, seq, text = await asyncio.wrap_future(future)
                except (BrokenProcessPool, OSError) as exc:  # no worker process here: check it in this one
                    log.warning("audit.chain_worker_unavailable", stream_id=self.stream_id, error=str(exc))
                    outcome, seq, text = verify_records(records, self.stream_id, start_seq, start_hash)
                    self.checked_here += 1
                if outcome == "break":
                    return Check("chain", False, text, self.stream_id, seq)
                head_seq, head = seq, text
            detail = f"{self._events} events, seq 1..{head_seq} contiguous, head {short(head)}"
            return Check("chain", True, detail, self.stream_id)
        finally:
            self.close()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
