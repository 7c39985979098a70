"""Exact, incremental tally of a ballot box (法释〔2009〕7号 第8–9条; 民法典 第278条).

:class:`Tally` keeps, per owner, the best online and the best paper ballot and the choice currently
counted, plus running sums by choice; :meth:`Tally.add` swaps the superseded contribution for the new one
in O(1). :func:`tally` is the batch form: it folds the ballots, in the order given, through the same
:class:`Tally`, so both always agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from domain.ballots import (
    CHOICES,
    DEFAULT_PROXY_LIMIT,
    Ballot,
    BallotLike,
    Choice,
    IgnoredBallot,
    IgnoreReason,
    ProxyBook,
    ProxyRecord,
    book_from_records,
)
from domain.errors import N_, DeemingSettingsError
from domain.roll import Electorate
from domain.rules import Rule
from domain.tally_result import Count, TallyResult, evaluate

_OrderKey = tuple[int, datetime, int] | tuple[int, int]
Precedence = Literal["online_over_paper", "paper_not_counted"]
"""The online/paper rule that applied to a ballot (RULES.md, Shenzhen 深建规〔2020〕14号)."""


class TallySettings(BaseModel):
    """Per-community settings of the count."""

    model_config = ConfigDict(frozen=True)

    proxy_limit: int = DEFAULT_PROXY_LIMIT
    deem_silent: bool = False
    deem_over_half: bool = False
    """Deem only when the majority's own ballots exceed half of all owners by headcount and by area."""

    @model_validator(mode="after")
    def _over_half_needs_deeming(self) -> TallySettings:
        check_deeming(self.deem_silent, self.deem_over_half)
        return self


def check_deeming(deem_silent: bool, deem_over_half: bool) -> None:
    """Refuse ``deem_over_half`` without ``deem_silent``: it only narrows when deeming applies."""
    if deem_over_half and not deem_silent:
        raise DeemingSettingsError(
            N_("deem_over_half is a condition on silent-owner deeming (deem_silent): turn deem_silent on first, or "
                    "turn deem_over_half off"),
        )


class Tally:
    """Running count of one question. Mutable: owned by whoever folds the stream (see ``decider``)."""

    def __init__(
        self,
        electorate: Electorate,
        rule: Rule,
        settings: TallySettings | None = None,
        proxies: ProxyBook | None = None,
    ) -> None:
        self.electorate = electorate
        self.rule = rule
        self.settings = settings or TallySettings()
        self.proxies = proxies if proxies is not None else ProxyBook(self.settings.proxy_limit)
        self._best: dict[str, dict[str, tuple[_OrderKey, Choice]]] = {"online": {}, "paper": {}}
        self._counted: dict[str, Choice] = {}
        self._owners: dict[str, int] = dict.fromkeys(CHOICES, 0)
        self._area: dict[str, Decimal] = {c: Decimal(0) for c in CHOICES}
        self._ignored: list[IgnoredBallot] = []
        self._index = 0
        self.version = 0

    def add(self, ballot: BallotLike) -> IgnoredBallot | None:
        """Count ``ballot``; returns the :class:`IgnoredBallot` record if it cannot count."""
        self._index += 1
        self.version += 1
        owner = ballot.owner_id
        area = self.electorate.owner_areas.get(owner)
        if area is None or ballot.proxy is not None:  # out of scope, or cast by a proxy: the full check
            reason = self.rejection(ballot)
            if reason is not None:
                ignored = IgnoredBallot.of(ballot, reason)
                self._ignored.append(ignored)
                return ignored
        # (in scope and cast by the owner: ``rejection`` is None, as ProxyBook.check_ballot has no proxy to check)
        channel, cast_at = ballot.channel, ballot.cast_at
        # A ballot without a cast time sorts before every timed ballot, then by the order given.
        key: _OrderKey = (0, self._index) if cast_at is None else (1, cast_at, self._index)
        best = self._best[channel]
        current = best.get(owner)
        if current is None or key > current[0]:
            best[owner] = current = (key, ballot.choice)
        # An online ballot counts over any paper one; a paper one only while the owner has no online ballot.
        chosen = current[1] if channel == "online" else (self._best["online"].get(owner) or current)[1]
        old = self._counted.get(owner)
        if old != chosen:
            self._move(owner, old, chosen, area)  # type: ignore[arg-type]
        return None

    def rejection(self, ballot: BallotLike) -> IgnoreReason | None:
        """Why ``ballot`` could not count, or None."""
        if ballot.owner_id not in self.electorate.owner_areas:
            on_roll = ballot.owner_id in self.electorate.roll_owner_ids
            return "not-in-scope" if on_roll else "not-on-roll"
        return self.proxies.check_ballot(ballot)

    def _move(self, owner: str, old: Choice | None, new: Choice, area: Decimal) -> None:
        if old is not None:
            self._owners[old] -= 1
            self._area[old] -= area
        self._owners[new] += 1
        self._area[new] += area
        self._counted[owner] = new

    def authorise_proxy(self, owner_id: str, proxy_owner_id: str, at: datetime) -> bool:
        self.version += 1
        return self.proxies.authorise(owner_id, proxy_owner_id, at)

    def revoke_proxy(self, owner_id: str, proxy_owner_id: str | None, at: datetime) -> None:
        self.version += 1
        self.proxies.revoke(owner_id, proxy_owner_id, at)

    def counted_choice(self, owner_id: str) -> Choice | None:
        """The choice currently counted for this owner."""
        return self._counted.get(owner_id)

    def has_online_ballot(self, owner_id: str) -> bool:
        return owner_id in self._best["online"]

    def has_paper_ballot(self, owner_id: str) -> bool:
        return owner_id in self._best["paper"]

    def precedence(self, owner_id: str, channel: str) -> Precedence | None:
        """Which channel rule applied to the owner's ballot of ``channel`` just counted, if one did.

        ``online_over_paper``: an online ballot while the owner has a paper one (the paper one no longer
        counts); ``paper_not_counted``: a paper ballot while the owner has an online one (recorded, not
        counted). None when the owner used one channel only."""
        if channel == "online" and self.has_paper_ballot(owner_id):
            return "online_over_paper"
        if channel == "paper" and self.has_online_ballot(owner_id):
            return "paper_not_counted"
        return None

    def by_channel(self) -> dict[str, Count]:
        """The counted ballots by channel: an owner's online ballot counts over a paper one, so an owner with
        both is counted once, online (RULES.md, Shenzhen 深建规〔2020〕14号)."""
        out = {"online": [0, Decimal(0)], "paper": [0, Decimal(0)]}
        areas, online = self.electorate.owner_areas, self._best["online"]
        for owner in self._counted:
            side = out["online" if owner in online else "paper"]
            side[0] += 1
            side[1] += areas[owner]
        return {k: Count(owners=int(v[0]), area=Decimal(v[1])) for k, v in out.items()}

    @property
    def ignored(self) -> tuple[IgnoredBallot, ...]:
        return tuple(self._ignored)

    def votes(self) -> dict[str, Count]:
        return {c: Count(owners=self._owners[c], area=self._area[c]) for c in CHOICES}

    def result(self) -> TallyResult:
        eligible = Count(owners=self.electorate.headcount, area=self.electorate.total_area)
        settings = self.settings
        return evaluate(self.rule, eligible, self.votes(), self.ignored, settings.deem_silent, settings.deem_over_half)

    def copy(self) -> Tally:
        """An independent copy (O(owners)); use it to keep a tally that a fold would otherwise advance."""
        other = Tally(self.electorate, self.rule, self.settings, self.proxies.copy())
        other._best = {channel: dict(best) for channel, best in self._best.items()}
        other._counted = dict(self._counted)
        other._owners = dict(self._owners)
        other._area = dict(self._area)
        other._ignored = list(self._ignored)
        other._index = self._index
        return other


def tally(
    electorate: Electorate,
    rule: Rule,
    ballots: Iterable[Ballot],
    *,
    proxies: Iterable[ProxyRecord] = (),
    settings: TallySettings | None = None,
) -> TallyResult:
    """Batch tally: build the proxy book from ``proxies``, then count ``ballots`` in the order given."""
    settings = settings or TallySettings()
    book = book_from_records(list(proxies), settings.proxy_limit)
    running = Tally(electorate, rule, settings, book)
    for ballot in ballots:
        running.add(ballot)
    return running.result()
