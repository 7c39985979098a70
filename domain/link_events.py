"""What staff do to personal links, as events in the deliberation's stream, and the ledger they fold into (pure).

A personal link (yishi/services/links.py) is a capability: whoever holds its token votes as the owner. The
committee issues the links, prints them, reissues a lost one: each of these acts hands someone a live token,
so each is a fact in the deliberation's hash chain, with who, when and which households. Never the token: a
link is named by ``token_hash``, the sha256 the ``links`` table stores (an auditor can match a token an owner
shows them; nobody can go from the hash back to the token).

Like :mod:`domain.stage_events`: frozen pydantic models whose ``type`` literal is the class name, ``at`` passed
in, never defaulted. A batch (issuing or printing for 100,000 households) is several events of at most
:data:`CHUNK` households each, ``part`` 1..``parts``, appended together. They change no count: the ballot box's
fold and the recount skip them (they are not in :data:`domain.events.EVENT_TYPES`), and they may follow the
seal (a sheet printed after the vote closed is still recorded).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

CHUNK = 500
"""Households per event of a batch: a LinksIssued part stays under ~60 kB."""

Via = Literal["console", "cli", "system"]
"""Where the act came from: a console account (``by`` is its name), the ``yishi links`` command (``by`` is its
``--by``), or the system itself (a demo, a benchmark, the fault suite)."""


class _LinkEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: AwareDatetime
    by: str
    via: Via


class IssuedEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    owner_id: str
    generation: int = Field(ge=1)
    token_hash: str = Field(pattern=r"^[0-9a-f]{64}$")


class LinksIssued(_LinkEvent):
    """New links (generation 1) for households that had none; a batch in parts."""

    type: Literal["LinksIssued"] = "LinksIssued"
    links: tuple[IssuedEntry, ...]
    part: int = 1
    parts: int = 1


class LinkReissued(_LinkEvent):
    """One owner's link replaced: ``revoked_generation`` (if there was a live one) stops at once."""

    type: Literal["LinkReissued"] = "LinkReissued"
    owner_id: str
    generation: int = Field(ge=1)
    token_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    revoked_generation: int | None = None
    reason: str = ""


class LinkRevoked(_LinkEvent):
    """One owner's link stopped without a replacement."""

    type: Literal["LinkRevoked"] = "LinkRevoked"
    owner_id: str
    generation: int = Field(ge=1)
    reason: str = ""


class LiveLinksDisclosed(_LinkEvent):
    """Live links shown to someone: the CSV downloaded, notice sheets printed or reprinted, links printed by the
    CLI. ``owners`` are the households whose live link was in it; a batch in parts."""

    type: Literal["LiveLinksDisclosed"] = "LiveLinksDisclosed"
    format: str
    """``csv``, ``sheets`` (A4 notice sheets, HTML) or ``sheet`` (one household's sheet)."""
    owners: tuple[str, ...]
    part: int = 1
    parts: int = 1


LinkEvent = Annotated[LinksIssued | LinkReissued | LinkRevoked | LiveLinksDisclosed, Field(discriminator="type")]
LINK_EVENT_TYPES: dict[str, type[BaseModel]] = {
    cls.__name__: cls for cls in (LinksIssued, LinkReissued, LinkRevoked, LiveLinksDisclosed)}
_ADAPTER: TypeAdapter[Any] = TypeAdapter(LinkEvent)


def link_event_from_dict(type_: str, payload: dict[str, Any]) -> LinkEvent:
    """Decode a stored link event from its ``type`` and JSON ``payload``."""
    return _ADAPTER.validate_python({**payload, "type": type_})


def chunks(items: Sequence[Any], size: int | None = None) -> list[Sequence[Any]]:
    """``items`` in slices of at most ``size`` (:data:`CHUNK` by default; one empty slice for no items)."""
    size = size or CHUNK
    return [items[start:start + size] for start in range(0, len(items), size)] or [items[:0]]


# ---- the ledger: what an owner's page and an auditor's report show ---------------------------------------


@dataclass
class LinkAct:
    """One act on links: who, when, how; ``households`` counts every part of a batch."""

    kind: Literal["issued", "reissued", "revoked", "disclosed"]
    at: datetime
    by: str
    via: str
    seq: int | None = None
    owner_id: str | None = None  # the one owner of a reissue or a revocation
    generation: int | None = None
    reason: str = ""
    format: str = ""
    households: int = 0


@dataclass
class LinkLedger:
    """The link events of a stream folded: which act made each ``(owner, generation)``, and the acts each owner
    is shown (reissues, revocations and disclosures that named their household), in stream order."""

    made: dict[tuple[str, int], LinkAct] = field(default_factory=dict)
    acts_of: dict[str, list[LinkAct]] = field(default_factory=dict)
    acts: list[LinkAct] = field(default_factory=list)
    """Every act but the initial issue, batches merged (a disclosure in three parts is one act)."""
    issued_batches: int = 0
    _last_issue: LinkAct | None = field(default=None, repr=False)

    def apply(self, event: LinkEvent, seq: int | None = None) -> None:
        match event:
            case LinksIssued():
                act = self._batch("issued", event, seq, len(event.links))
                for entry in event.links:
                    self.made[(entry.owner_id, entry.generation)] = act
            case LinkReissued():
                act = LinkAct("reissued", event.at, event.by, event.via, seq, event.owner_id, event.generation,
                              event.reason, households=1)
                self.made[(event.owner_id, event.generation)] = act
                self._shown(act, [event.owner_id])
            case LinkRevoked():
                act = LinkAct("revoked", event.at, event.by, event.via, seq, event.owner_id, event.generation,
                              event.reason, households=1)
                self._shown(act, [event.owner_id])
            case LiveLinksDisclosed():
                act = self._batch("disclosed", event, seq, len(event.owners))
                self._owners(act, event.owners)

    def _batch(self, kind: Literal["issued", "disclosed"], event: LinksIssued | LiveLinksDisclosed,
               seq: int | None, count: int) -> LinkAct:
        """The act a part belongs to: a new one for part 1, else the batch's act so far."""
        previous = self._last_issue if kind == "issued" else (self.acts[-1] if self.acts else None)
        if event.part > 1 and previous is not None and previous.kind == kind and previous.by == event.by:
            previous.households += count
            return previous
        fmt = event.format if isinstance(event, LiveLinksDisclosed) else ""
        act = LinkAct(kind, event.at, event.by, event.via, seq, format=fmt, households=count)
        if kind == "issued":
            self._last_issue = act
            self.issued_batches += 1
        else:
            self.acts.append(act)
        return act

    def _shown(self, act: LinkAct, owners: Iterable[str]) -> None:
        self.acts.append(act)
        self._owners(act, owners)

    def _owners(self, act: LinkAct, owners: Iterable[str]) -> None:
        for owner_id in owners:
            self.acts_of.setdefault(owner_id, []).append(act)

    def issue_of(self, owner_id: str, generation: int) -> LinkAct | None:
        """The act that made this generation of the owner's link (None: not recorded in the chain)."""
        return self.made.get((owner_id, generation))

    def last_reissue(self, owner_id: str) -> LinkAct | None:
        return next((a for a in reversed(self.acts_of.get(owner_id, ())) if a.kind == "reissued"), None)


def fold_links(events: Iterable[tuple[int | None, LinkEvent]]) -> LinkLedger:
    """The ledger of ``(seq, event)`` pairs in stream order."""
    ledger = LinkLedger()
    for seq, event in events:
        ledger.apply(event, seq)
    return ledger
