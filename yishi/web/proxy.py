"""Who the client is behind a reverse proxy: ``X-Forwarded-For`` and ``X-Forwarded-Proto`` from trusted peers only.

Behind the compose file's Caddy every resident arrives from the proxy's address. Rate limits, logs and the login
throttle need the resident's own address, and cookies need to know that the resident's connection is HTTPS (the
proxy speaks plain HTTP to the app). Both come in headers that anyone can send, so they are believed only when
the TCP peer is one of ``YISHI_TRUSTED_PROXIES`` (addresses or networks; loopback by default, the proxy's fixed
address in docker-compose.yml). The client is the rightmost address in ``X-Forwarded-For`` that is not itself a
trusted proxy: everything to its left was written by the client and proves nothing.

A pure ASGI middleware that rewrites ``scope["client"]`` and ``scope["scheme"]``, so ``request.client`` and
``request.url.scheme`` mean the same thing everywhere (uvicorn's own ``--proxy-headers`` is switched off: one
place decides).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(text: str) -> list[Network]:
    """``"127.0.0.1, ::1, 172.30.80.0/24"`` as networks; raises ``ValueError`` naming the bad entry."""
    networks = []
    for item in text.replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"YISHI_TRUSTED_PROXIES: {item!r} is not an IP address or network "
                             f"(e.g. 127.0.0.1, ::1, 172.30.80.0/24)") from None
    return networks


@lru_cache(maxsize=4096)  # the same few peers and clients, request after request: parsed once each
def _address(text: str) -> Address | None:
    text = text.strip().strip('"')
    if text.startswith("["):  # [v6]:port
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class TrustedProxies:
    """The peers whose forwarding headers are believed."""

    def __init__(self, networks: list[Network]) -> None:
        self.networks = networks
        # The TCP peer's decision, once per peer address (a proxy's few addresses, or each direct client's).
        self.trusts_peer = lru_cache(maxsize=4096)(self._trusts_peer)

    def trusts(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def _trusts_peer(self, peer: str) -> bool:
        return self.trusts(_address(peer))

    def client(self, peer: str, forwarded_for: str) -> str:
        """The client's address: the rightmost hop of ``forwarded_for`` that is not a trusted proxy.

        A hop that is not an address stops the walk (the proxy next to it is then the client as far as
        anyone can tell); when every hop is trusted, the leftmost one.
        """
        current = peer
        for hop in reversed(forwarded_for.split(",")):
            address = _address(hop)
            if address is None:
                return current
            current = str(address)
            if not self.trusts(address):
                return current
        return current


def _header(scope: dict[str, Any], name: bytes) -> str:
    values = [value.decode("latin-1") for key, value in scope.get("headers", []) if key.lower() == name]
    return ",".join(values)


class ForwardedFrom:
    """Rewrite the client address and scheme from the forwarding headers of a trusted proxy."""

    def __init__(self, app: Any, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("client"):
            peer = scope["client"][0]
            if self.proxies.trusts_peer(peer):
                scope = dict(scope)
                forwarded_for = _header(scope, b"x-forwarded-for")
                if forwarded_for:
                    scope["client"] = (self.proxies.client(peer, forwarded_for), 0)
                proto = _header(scope, b"x-forwarded-proto").rsplit(",", 1)[-1].strip().lower()
                if proto in ("http", "https"):
                    scope["scheme"] = proto if scope["type"] == "http" else {"http": "ws", "https": "wss"}[proto]
        await self.app(scope, receive, send)


def install_forwarded(app: Any, trusted_proxies: str) -> None:
    """Add the middleware outermost (call after every other ``add_middleware``)."""
    app.add_middleware(ForwardedFrom, proxies=TrustedProxies(parse_networks(trusted_proxies)))
