"""The console sign-in throttle: slow guessing down, never lock the real user out.

A lockout is a weapon: whoever knows an account's name could keep its owner out by typing wrong passwords. So
nothing here refuses for good; each key only has to wait, and only failures count (a success clears its pair):

- one account from one address (the *pair*): after ``PAIR_FREE`` failures within the hour, each further
  attempt waits 1 s after the pair's latest failure, doubling up to 15 minutes. The real user signs in from
  an address of their own, whose pair has its own count, so failures from other addresses never refuse them;
- one address, whatever the accounts (spraying one password over many names): after ``ADDRESS_FREE``
  failures, 1 s doubling up to a minute (a colleague behind the same address waits at most that);
- an account under attack from many addresses (``UNDER_ATTACK`` failures within the hour): every pair gets
  one free failure instead of ``PAIR_FREE``, so each attacking address gets one quick guess and then waits,
  while the real user's first attempt from their own address still goes through.

Failures are counted under the account's id when the name finds one (every spelling of the name that finds the
account shares one count: ``yishi.services.accounts.normalise_name``), else under the normalised name.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

PAIR_FREE = 5
ADDRESS_FREE = 30
UNDER_ATTACK = 100
WINDOW = 3600.0


class Backoff:
    """Exponential waiting after failures: after ``free`` failures within ``window`` seconds a key waits
    ``base * 2 ** (failures - free)`` seconds (at most ``cap``) from its latest failure. Remembers at most
    ``max_keys`` keys (the oldest are forgotten first)."""

    def __init__(self, free: int, cap: float, *, window: float = WINDOW, base: float = 1.0,
                 max_keys: int = 100_000) -> None:
        self.free, self.cap, self.window, self.base, self.max_keys = free, cap, window, base, max_keys
        self._failures: OrderedDict[Hashable, deque[float]] = OrderedDict()

    def _recent(self, key: Hashable, now: float) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures

    def count(self, key: Hashable, now: float) -> int:
        failures = self._recent(key, now)
        return len(failures) if failures else 0

    def wait(self, key: Hashable, now: float, free: int | None = None) -> float:
        """Seconds ``key`` must still wait before its next attempt (0: it may try now)."""
        failures = self._recent(key, now)
        free = self.free if free is None else free
        if failures is None or len(failures) < free:
            return 0.0
        delay = min(self.cap, self.base * 2 ** min(len(failures) - free, 32))
        return max(0.0, failures[-1] + delay - now)

    def failed(self, key: Hashable, now: float) -> None:
        failures = self._recent(key, now)
        if failures is None:
            failures = self._failures[key] = deque(maxlen=4 * UNDER_ATTACK)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)
        self._failures.move_to_end(key)
        failures.append(now)

    def forget(self, key: Hashable) -> None:
        self._failures.pop(key, None)

    def clear(self) -> None:
        self._failures.clear()


@dataclass
class LoginThrottle:
    """The three back-offs of sign-in (see the module's docstring); ``clock`` is replaceable for tests."""

    pair: Backoff = field(default_factory=lambda: Backoff(PAIR_FREE, 900))
    address: Backoff = field(default_factory=lambda: Backoff(ADDRESS_FREE, 60))
    account: Backoff = field(default_factory=lambda: Backoff(UNDER_ATTACK, 0))  # only counted
    clock: Callable[[], float] = time.monotonic

    def wait(self, account: str, address: str) -> float:
        """Seconds before ``account`` may be tried from ``address`` (0: now)."""
        now = self.clock()
        free = 1 if self.account.count(account, now) >= UNDER_ATTACK else None
        return max(self.pair.wait((account, address), now, free), self.address.wait(address, now))

    def failed(self, account: str, address: str) -> None:
        now = self.clock()
        self.pair.failed((account, address), now)
        self.address.failed(address, now)
        self.account.failed(account, now)

    def succeeded(self, account: str, address: str) -> None:
        self.pair.forget((account, address))

    def clear(self) -> None:
        for backoff in (self.pair, self.address, self.account):
            backoff.clear()
