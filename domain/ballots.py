"""Ballots and proxies.

Which ballot of an owner counts: the last online ballot (by ``cast_at``, ties by the order given, i.e.
stream seq); a paper ballot only when the owner has no online ballot (the last paper ballot if several).
A ballot with no ``cast_at`` is older than any ballot with one (then ordered as given).

A ballot cast by owner P for owner O (``cast_by=P``) counts as O's only if an authorisation O→P is in
force at ``cast_at``. A proxy holds at most ``limit`` authorisations in force at once (default 3, a
setting); an authorisation beyond the limit is refused (:class:`ProxyLimitError`) or, when rebuilding a
book from records, kept as refused so ballots relying on it are ignored with reason ``proxy-limit``.
An owner has one proxy at a time: a new authorisation ends the previous one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict

from domain.errors import N_, ProxyLimitError, ProxyNotAuthorisedError

Choice = Literal["for", "against", "abstain"]
Channel = Literal["online", "paper"]
CHOICES: tuple[Choice, ...] = ("for", "against", "abstain")
DEFAULT_PROXY_LIMIT = 3  # ⚠ Weifang practice; a setting.


class BallotLike(Protocol):
    """What a tally reads of a ballot: a :class:`Ballot`, or the ``BallotCast`` event itself (a fold counts
    the validated event as it is instead of copying it into a new model per ballot)."""

    @property
    def owner_id(self) -> str: ...
    @property
    def choice(self) -> Choice: ...
    @property
    def channel(self) -> Channel: ...
    @property
    def cast_at(self) -> datetime | None: ...
    @property
    def cast_by(self) -> str | None: ...
    @property
    def proxy(self) -> str | None: ...


class Ballot(BaseModel):
    model_config = ConfigDict(frozen=True)

    owner_id: str
    choice: Choice
    channel: Channel = "online"
    cast_at: AwareDatetime | None = None
    cast_by: str | None = None
    paper_ref: str | None = None
    question_id: str = "main"

    @property
    def proxy(self) -> str | None:
        """The proxy who cast it, or None when the owner cast it themself."""
        return self.cast_by if self.cast_by and self.cast_by != self.owner_id else None


IgnoreReason = Literal[
    "not-on-roll", "not-in-scope", "proxy-unauthorised", "proxy-revoked", "proxy-limit", "proxy-no-time"
]

REASON_TEXT: dict[str, tuple[str, str]] = {
    "not-on-roll": ("业主不在名册上", "owner is not on the roll"),
    "not-in-scope": ("业主在本次表决范围内没有房间", "owner holds no room in this vote's scope"),
    "proxy-unauthorised": ("代投人没有该业主的委托", "the proxy holds no authorisation from this owner"),
    "proxy-revoked": ("委托在投票前已撤销", "the authorisation was revoked before the ballot was cast"),
    "proxy-limit": (
        "代投人受托人数超过上限，该委托无效",
        "the proxy exceeded the limit of owners represented",
    ),
    "proxy-no-time": (
        "代投选票没有投票时间，无法核对委托",
        "a proxy ballot without cast time cannot be checked",
    ),
}


class IgnoredBallot(BaseModel):
    """A ballot that was not counted, and why."""

    model_config = ConfigDict(frozen=True)

    owner_id: str
    cast_by: str | None
    channel: Channel
    cast_at: AwareDatetime | None
    reason: IgnoreReason
    zh: str
    en: str

    @classmethod
    def of(cls, ballot: BallotLike, reason: IgnoreReason) -> IgnoredBallot:
        zh, en = REASON_TEXT[reason]
        return cls(
            owner_id=ballot.owner_id,
            cast_by=ballot.cast_by,
            channel=ballot.channel,
            cast_at=ballot.cast_at,
            reason=reason,
            zh=zh,
            en=en,
        )


@dataclass
class _Grant:
    owner_id: str
    proxy_owner_id: str
    start: datetime
    end: datetime | None = None
    refused: bool = False

    def in_force(self, at: datetime) -> bool:
        return self.start <= at and (self.end is None or at < self.end)


class ProxyBook:
    """Authorisations over time. Mutable accumulator owned by a :class:`~domain.tally.Tally`."""

    def __init__(self, limit: int = DEFAULT_PROXY_LIMIT) -> None:
        self.limit = limit
        self._by_owner: dict[str, list[_Grant]] = {}
        self._by_proxy: dict[str, list[_Grant]] = {}

    def active_proxy(self, owner_id: str, at: datetime) -> str | None:
        for grant in self._by_owner.get(owner_id, ()):
            if not grant.refused and grant.in_force(at):
                return grant.proxy_owner_id
        return None

    def represented_by(self, proxy_owner_id: str, at: datetime) -> list[str]:
        grants = self._by_proxy.get(proxy_owner_id, ())
        return [g.owner_id for g in grants if not g.refused and g.in_force(at)]

    def check_authorise(self, owner_id: str, proxy_owner_id: str, at: datetime) -> None:
        """Raise if O→P may not be authorised at ``at``."""
        if owner_id == proxy_owner_id:
            raise ProxyNotAuthorisedError(N_("an owner cannot be their own proxy"))
        held = [o for o in self.represented_by(proxy_owner_id, at) if o != owner_id]
        if len(held) >= self.limit:
            raise ProxyLimitError(
                N_("proxy %(proxy_owner_id)s already represents %(count)s owners (limit %(limit)s); choose another "
                        "proxy"), proxy_owner_id=proxy_owner_id, count=len(held), limit=self.limit,
            )

    def authorise(self, owner_id: str, proxy_owner_id: str, at: datetime) -> bool:
        """Record O→P from ``at``, ending O's previous authorisation; False if refused over the limit."""
        if self.active_proxy(owner_id, at) == proxy_owner_id:
            return True
        self.revoke(owner_id, None, at)
        try:
            self.check_authorise(owner_id, proxy_owner_id, at)
            refused = False
        except ProxyLimitError:
            refused = True
        grant = _Grant(owner_id, proxy_owner_id, at, refused=refused)
        self._by_owner.setdefault(owner_id, []).append(grant)
        self._by_proxy.setdefault(proxy_owner_id, []).append(grant)
        return not refused

    def revoke(self, owner_id: str, proxy_owner_id: str | None, at: datetime) -> None:
        """End O's authorisation (of P, or of anyone when P is None) in force at ``at``."""
        for grant in self._by_owner.get(owner_id, ()):
            if grant.in_force(at) and proxy_owner_id in (None, grant.proxy_owner_id):
                grant.end = at

    def check_ballot(self, ballot: BallotLike) -> IgnoreReason | None:
        """None if the ballot may count as its owner's, else why not."""
        proxy = ballot.proxy
        if proxy is None:
            return None
        if ballot.cast_at is None:
            return "proxy-no-time"
        grants = [g for g in self._by_owner.get(ballot.owner_id, ()) if g.proxy_owner_id == proxy]
        if any(g.in_force(ballot.cast_at) and not g.refused for g in grants):
            return None
        if any(g.in_force(ballot.cast_at) for g in grants):
            return "proxy-limit"
        if any(g.start <= ballot.cast_at for g in grants):
            return "proxy-revoked"
        return "proxy-unauthorised"

    def copy(self) -> ProxyBook:
        book = ProxyBook(self.limit)
        for grants in self._by_owner.values():
            for g in grants:
                clone = _Grant(g.owner_id, g.proxy_owner_id, g.start, g.end, g.refused)
                book._by_owner.setdefault(g.owner_id, []).append(clone)
                book._by_proxy.setdefault(g.proxy_owner_id, []).append(clone)
        return book


class ProxyRecord(BaseModel):
    """An authorisation or revocation, as read from a file or a stream, to rebuild a :class:`ProxyBook`."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["authorise", "revoke"]
    owner_id: str
    proxy_owner_id: str
    at: AwareDatetime


def book_from_records(records: list[ProxyRecord], limit: int = DEFAULT_PROXY_LIMIT) -> ProxyBook:
    """Replay records in time order (ties as given); authorisations over the limit are kept as refused."""
    book = ProxyBook(limit)
    for record in sorted(records, key=lambda r: r.at):
        if record.kind == "authorise":
            book.authorise(record.owner_id, record.proxy_owner_id, record.at)
        else:
            book.revoke(record.owner_id, record.proxy_owner_id, record.at)
    return book
