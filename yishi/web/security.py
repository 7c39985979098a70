"""CSRF tokens, signed cookies and in-memory rate limits.

CSRF: every form carries a hidden ``csrf`` field, an HMAC under the secret key of what the form is bound
to — for a resident form, the link's token hash and the form's nonce; for the console, the session. A
page from another site can neither read nor compute it.

Rate limits are sliding windows (and the login throttle's back-off, yishi/web/throttle.py) kept in this
process's memory (a restart forgets them; with several web processes each limits on its own, which is
acceptable for abuse control, not for accounting).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

import structlog
from fastapi import Request

from yishi.web.throttle import LoginThrottle

log = structlog.get_logger(__name__)


def _mac(secret_key: str, *parts: str) -> str:
    message = "\x00".join(parts).encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def new_nonce() -> str:
    return secrets.token_hex(16)


def form_csrf(secret_key: str, purpose: str, binding: str, nonce: str) -> str:
    """The CSRF value of a form for ``purpose`` bound to ``binding`` (token hash or session)."""
    return _mac(secret_key, "csrf/1", purpose, binding, nonce)


def check_csrf(secret_key: str, purpose: str, binding: str, nonce: str, presented: str) -> bool:
    if not nonce or not presented or len(nonce) > 64:
        return False
    return hmac.compare_digest(form_csrf(secret_key, purpose, binding, nonce), presented)


def sign(secret_key: str, value: str) -> str:
    return f"{value}.{_mac(secret_key, 'cookie/1', value)}"


def unsign(secret_key: str, signed: str | None) -> str | None:
    if not signed or "." not in signed:
        return None
    value, _, mac = signed.rpartition(".")
    return value if hmac.compare_digest(_mac(secret_key, "cookie/1", value), mac) else None


class SlidingWindow:
    """At most ``limit`` hits per ``window`` seconds per key; remembers at most ``max_keys`` keys."""

    def __init__(self, limit: int, window: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def hit(self, key: str, now: float | None = None) -> bool:
        """Record a hit; False if the key is over its limit (the hit is then not recorded)."""
        now = time.monotonic() if now is None else now
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
        self._hits.move_to_end(key)
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def blocked(self, key: str, now: float | None = None) -> bool:
        """Whether ``key`` is at its limit, without recording a hit."""
        now = time.monotonic() if now is None else now
        hits = self._hits.get(key)
        return hits is not None and sum(1 for h in hits if h > now - self.window) >= self.limit

    def clear(self) -> None:
        self._hits.clear()


@dataclass
class RateLimits:
    """The limits of this process. Tests and operators may replace the numbers.

    What is limited is what is guessed, not only who guesses: a valid link or receipt code is looked up first
    and always answered (its own link is limited per token), so the misses of an attacker behind the same
    carrier NAT or reverse proxy never lock a resident out. Only misses count against an address and against
    everyone together; over either budget a miss answers 429 instead of 403/404.
    docs/security/shared-address-and-accounts.md explains why that is enough: a link is 256 bits, a receipt
    code 40 bits per sequence number, and a hit shows no choice.
    """

    # Public reads that guess nothing (a deliberation's status): generous, many residents share an address.
    per_address: SlidingWindow = field(default_factory=lambda: SlidingWindow(300, 60))
    per_token: SlidingWindow = field(default_factory=lambda: SlidingWindow(30, 60))
    # Misses (unknown links, receipt codes naming no ballot) per address, and from all addresses together.
    failures: SlidingWindow = field(default_factory=lambda: SlidingWindow(30, 600))
    failures_global: SlidingWindow = field(default_factory=lambda: SlidingWindow(3000, 600))
    logins: LoginThrottle = field(default_factory=LoginThrottle)

    def clear(self) -> None:
        for window in (self.per_address, self.per_token, self.failures, self.failures_global):
            window.clear()
        self.logins.clear()

    def missed(self, address: str) -> bool:
        """Count a miss from ``address``; True when it is over its own or the global budget (answer 429)."""
        over_address = not self.failures.hit(address)
        over_all = not self.failures_global.hit("*")
        if over_address or over_all:
            log.info("limits.guessing", address=address, over_all=over_all)
        return over_address or over_all


def receipt_key(parsed: tuple[int, str]) -> str:
    """What one receipt code's own rate limit is kept under (``RateLimits.per_token``)."""
    return f"receipt:{parsed[0]}-{parsed[1]}"


def client_address(request: Request) -> str:
    """The client's address; behind a trusted reverse proxy the resident's own (yishi/web/proxy.py)."""
    return request.client.host if request.client else "unknown"
