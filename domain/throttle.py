"""Proof of effort for the intake throttle (pure: the key and the time are passed in).

When an address has used its budget, a request from a device that has not used its own is not refused: it is
given a challenge, and comes through once it sends a nonce whose SHA-256 with the challenge starts with
``difficulty`` zero bits (about 2^difficulty hashes: a few seconds on a phone at the default). A person raising a
topic pays it once; a script sending ten thousand pays it ten thousand times. The challenge is signed (HMAC) with
the address, the device and its expiry, so it cannot be moved to another address or device, nor kept for later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

CHALLENGE_FORMAT = "yishi-effort/1"
CHALLENGE_TTL = timedelta(minutes=10)


@dataclass(frozen=True)
class Challenge:
    text: str
    difficulty: int
    expires_at: datetime


def _mac(key: str, body: str) -> str:
    digest = hmac.new(key.encode(), body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode("ascii")


def issue(key: str, address: str, device: str, difficulty: int, now: datetime, salt: str) -> Challenge:
    """A challenge for this address and device (``salt``: a random string from the caller, so each is new)."""
    expires = now + CHALLENGE_TTL
    body = f"{CHALLENGE_FORMAT}.{difficulty}.{int(expires.timestamp())}.{salt}"
    return Challenge(f"{body}.{_mac(key, f'{body}|{address}|{device}')}", difficulty, expires)


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def work(challenge: str, nonce: str) -> int:
    """How many leading zero bits ``sha256(challenge ":" nonce)`` has."""
    return leading_zero_bits(hashlib.sha256(f"{challenge}:{nonce}".encode()).digest())


def solve(challenge: Challenge) -> str:
    """Find a nonce (what the page's script does; tests use a low difficulty)."""
    n = 0
    while work(challenge.text, str(n)) < challenge.difficulty:
        n += 1
    return str(n)


def verify(key: str, address: str, device: str, challenge: str, nonce: str, now: datetime,
           required: int) -> str | None:
    """None when the proof holds; otherwise why not (for the log, never shown as a server error)."""
    try:
        fmt, difficulty, expires, salt, mac = challenge.split(".")
        level, until = int(difficulty), int(expires)
    except ValueError:
        return "malformed challenge"
    body = f"{fmt}.{difficulty}.{expires}.{salt}"
    if fmt != CHALLENGE_FORMAT or not hmac.compare_digest(mac, _mac(key, f"{body}|{address}|{device}")):
        return "challenge not issued to this address and device"
    if now.timestamp() >= until:
        return "challenge expired"
    if level < required:
        return "challenge easier than required now"
    if len(nonce) > 64 or work(challenge, nonce) < level:
        return "not enough work"
    return None
