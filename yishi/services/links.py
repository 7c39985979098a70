"""Personal voting links: one capability per owner per deliberation.

A link is ``{public_base_url}/v/{token}``. Whoever holds the token votes as that owner, so:

* The token is 256 bits: ``HMAC-SHA256(secret_key, "yishi-link/1" ‖ deliberation_id ‖ owner_id ‖
  generation ‖ nonce)``, base64url without padding (43 characters). ``nonce`` is 32 bytes from
  :mod:`secrets` (a CSPRNG), drawn when the link is issued and stored beside the hash.
* The database stores only ``sha256(token)`` (to find the link) and the nonce. A copy of the database
  alone cannot produce a working link; the secret key alone cannot either.

Why derived and not simply ``secrets.token_urlsafe(32)`` kept nowhere: notice sheets are printed and
posted in stairwells, and the committee re-runs ``yishi links`` (a lost sheet, a second copy for an
elderly owner). A random token that is not stored could only be shown once, so re-running would have to
issue new tokens and invalidate every sheet already posted. With the derivation, issuing is idempotent
per owner: the same live row yields the same token, as long as the secret key is the same (if the key
changed, re-rendering fails with :class:`LinkKeyChangedError` instead of printing dead links; the old
links keep working, since only their hash is checked).

Reissue (a lost phone, a sheet taken by someone else) revokes the live row and inserts generation + 1
with a fresh nonce in one transaction: the old token stops at once. A link is valid until the box closes;
that check belongs to the ballot box (the stream), not to this table.

Issuing, reissuing, revoking and showing links are in :mod:`yishi.services.link_issuing`: each is recorded in
the deliberation's stream in the transaction that does it, and only showing them hands out a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import asyncpg

TOKEN_FORMAT = b"yishi-link/1"
TOKEN_CHARS = 43  # 32 bytes, base64url without padding
_TOKEN_SHAPE = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_CHARS}}}", re.ASCII)


def local_base(base_url: str) -> bool:
    """Whether links under ``base_url`` open only on the server itself (127.0.0.1, localhost, 0.0.0.0, ::1):
    a QR code pointing there does nothing on an owner's phone."""
    host = (urlsplit(base_url).hostname or "").rstrip(".").lower()
    if host in ("", "localhost") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


class LinkError(Exception):
    """A link cannot be used; ``status`` is the HTTP status the web tier answers with."""

    status = 403


class UnknownLinkError(LinkError):
    """No link has this token: mistyped, forged, or from another installation."""


class RevokedLinkError(LinkError):
    """The link was replaced by a new one (the committee reissued it)."""

    status = 410


class LinkKeyChangedError(RuntimeError):
    """The secret key changed since these links were issued, so their tokens cannot be shown again.

    The printed links still work. To print new sheets, reissue the links (``yishi links ID --reissue``)."""

    def __init__(self, owner_id: str) -> None:
        super().__init__(f"link of owner {owner_id} was issued with another secret key; reissue it to print it again")
        self.owner_id = owner_id


@dataclass(frozen=True)
class IssuedLink:
    """A link with its plain token: only for printing and handing to the owner."""

    deliberation_id: str
    owner_id: str
    generation: int
    token: str

    def url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/v/{self.token}"


@dataclass(frozen=True)
class LinkHolder:
    """Who a presented token belongs to. Carries the hash, never the token."""

    deliberation_id: str
    owner_id: str
    generation: int
    token_hash: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def derive_token(secret_key: str, deliberation_id: str, owner_id: str, generation: int, nonce: str) -> str:
    if not secret_key:
        raise ValueError("a secret key is needed to derive links (YISHI_SECRET_KEY)")
    message = b"\x00".join(
        [TOKEN_FORMAT, deliberation_id.encode(), owner_id.encode(), str(generation).encode(), nonce.encode()]
    )
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def looks_like_token(token: str) -> bool:
    """Cheap shape check before touching the database."""
    return _TOKEN_SHAPE.fullmatch(token) is not None


def issued_from_row(secret_key: str, row: Mapping[str, Any]) -> IssuedLink:
    """The link of a stored row, its token derived again (:class:`LinkKeyChangedError` if the key changed)."""
    token = derive_token(secret_key, row["deliberation_id"], row["owner_id"], row["generation"], row["nonce"])
    if not hmac.compare_digest(token_hash(token), row["token_hash"]):
        raise LinkKeyChangedError(row["owner_id"])
    return IssuedLink(row["deliberation_id"], row["owner_id"], row["generation"], token)


def new_row(secret_key: str, deliberation_id: str, owner_id: str, generation: int) -> tuple[str, str]:
    """``(nonce, token hash)`` of a new link: the nonce from the CSPRNG, the token derived and hashed at once."""
    nonce = secrets.token_bytes(32).hex()
    token = derive_token(secret_key, deliberation_id, owner_id, generation, nonce)
    return nonce, token_hash(token)


async def live_owners(pool: asyncpg.Pool, deliberation_id: str) -> set[str]:
    """The owners who have a live link (read-only; no token is derived, so a changed key does not matter)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT owner_id FROM links WHERE deliberation_id = $1 AND revoked_at IS NULL", deliberation_id)
    return {r["owner_id"] for r in rows}


# Links this process has found live, by token hash, per pool (one database's links are not another's): a
# link's row never changes but for its revocation, so a posted ballot may name its holder from here; the
# revocation is then checked under the stream lock, in the transaction that records the ballot
# (``yishi.services.voting``), never skipped. Keyed like the registry rows in yishi/services/voting.py: asyncpg
# pools take no weak references, so the pool is kept beside its links and its id cannot be reused meanwhile.
_live_by_pool: OrderedDict[int, tuple[asyncpg.Pool, OrderedDict[str, LinkHolder]]] = OrderedDict()
MAX_CACHED_LINKS = 50_000  # per pool
MAX_CACHED_POOLS = 8


def _live(pool: asyncpg.Pool) -> OrderedDict[str, LinkHolder]:
    """The live links this process found through ``pool``."""
    key = id(pool)
    entry = _live_by_pool.get(key)
    if entry is None:  # a pool not seen yet (the ballot hot path skips the allocation below)
        entry = _live_by_pool[key] = (pool, OrderedDict())
        while len(_live_by_pool) > MAX_CACHED_POOLS:
            _live_by_pool.popitem(last=False)
    elif len(_live_by_pool) > 1:
        _live_by_pool.move_to_end(key)
    return entry[1]


async def resolve_link(pool: asyncpg.Pool, token: str, *, cached: bool = False) -> LinkHolder:
    """Who holds ``token``; raises :class:`UnknownLinkError` or :class:`RevokedLinkError`.

    ``cached=True``: a holder this process found live before is returned without asking the database; only
    for acts that check the revocation again where they are recorded (:func:`revoked_among`).
    """
    if not looks_like_token(token):
        raise UnknownLinkError("malformed token")
    digest = token_hash(token)
    live = _live(pool)
    if cached and (holder := live.get(digest)) is not None:
        return holder
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT deliberation_id, owner_id, generation, token_hash, revoked_at FROM links"
            " WHERE token_hash = $1",
            digest,
        )
    if row is None:
        raise UnknownLinkError("no such link")
    if row["revoked_at"] is not None:
        live.pop(digest, None)
        raise RevokedLinkError("link revoked")
    holder = LinkHolder(row["deliberation_id"], row["owner_id"], row["generation"], row["token_hash"])
    live[digest] = holder
    while len(live) > MAX_CACHED_LINKS:
        live.popitem(last=False)
    return holder


async def revoked_among(conn: asyncpg.Connection, hashes: Iterable[str]) -> set[str]:
    """Which of these token hashes are revoked (one query, on ``conn``: e.g. inside the ballot's transaction)."""
    wanted = list(dict.fromkeys(hashes))
    if not wanted:
        return set()
    rows = await conn.fetch(
        "SELECT token_hash FROM links WHERE token_hash = ANY($1::text[]) AND revoked_at IS NOT NULL", wanted)
    revoked = {r["token_hash"] for r in rows}
    # ``conn`` does not say which pool it came from: forget the revoked links in every pool's cache (forgetting
    # only costs a lookup; a cache never vouches for a link the database has revoked).
    for _, live in _live_by_pool.values():
        for digest in revoked:
            live.pop(digest, None)
    return revoked
