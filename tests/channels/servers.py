"""Local servers that speak each channel's documented protocol (loopback only), for the channel tests.

Each is a real server on a TCP port of 127.0.0.1, written from the providers' documentation (CHANNELS.md), not from
Yishi's client code: the robots check the key, the JSON shape and the byte limit and enforce 20 messages a minute
per key (WeCom answers 45009 past it, DingTalk 130101) and DingTalk's signature; the SMS gateway recomputes
Alibaba Cloud's RPC signature (v1, HMAC-SHA1) from the form it received and answers the documented bodies,
including ``isv.BUSINESS_LIMIT_CONTROL``; the webhook receiver checks the HMAC; the SMTP server (aiosmtpd) requires
STARTTLS before AUTH and mail.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Behaviour:
    """What the fake provider does: accepted keys, per-minute limit, forced answers for the next requests."""

    keys: dict[str, str] = field(default_factory=dict)  # robot key / token / AccessKeyId -> its secret ("" if none)
    per_minute: int = 20
    forced: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (HTTP status, JSON body), in order
    sent_at: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    nonces: set[str] = field(default_factory=set)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, behaviour: Behaviour) -> None:
        super().__init__(("127.0.0.1", free_port()), _Handler)
        self.behaviour = behaviour
        self.received: list[Received] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        got = Received(parts.path, query, {k.lower(): v for k, v in self.headers.items()}, body)
        self.server.received.append(got)
        b = self.server.behaviour
        if b.forced:
            status, answer = b.forced.pop(0)
        elif parts.path == "/cgi-bin/webhook/send":
            status, answer = 200, _wecom(b, got)
        elif parts.path == "/robot/send":
            status, answer = 200, _dingtalk(b, got)
        elif parts.path == "/hook":
            status, answer = _webhook(b, got)
        else:
            status, answer = _sms(b, got)
        raw = json.dumps(answer, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


def _over_limit(b: Behaviour, key: str) -> bool:
    now = time.monotonic()
    recent = [t for t in b.sent_at[key] if now - t < 60]
    b.sent_at[key] = recent
    if len(recent) >= b.per_minute:
        return True
    recent.append(now)
    return False


def _wecom(b: Behaviour, got: Received) -> dict[str, Any]:
    key = got.query.get("key", "")
    if key not in b.keys:
        return {"errcode": 93000, "errmsg": "invalid webhook url"}
    try:
        msg = got.json()
    except ValueError:
        return {"errcode": 40008, "errmsg": "invalid message type"}
    if msg.get("msgtype") != "markdown" or not isinstance(msg.get("markdown", {}).get("content"), str):
        return {"errcode": 40008, "errmsg": "invalid message type"}
    if len(msg["markdown"]["content"].encode("utf-8")) > 4096:
        return {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
    if _over_limit(b, key):
        return {"errcode": 45009, "errmsg": "api freq out of limit"}
    return {"errcode": 0, "errmsg": "ok"}


def _dingtalk(b: Behaviour, got: Received) -> dict[str, Any]:
    token = got.query.get("access_token", "")
    if token not in b.keys:
        return {"errcode": 300001, "errmsg": "token is not exist"}
    secret = b.keys[token]
    if secret:
        stamp = got.query.get("timestamp", "")
        mac = hmac.new(secret.encode("utf-8"), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
        if got.query.get("sign") != base64.b64encode(mac).decode():
            return {"errcode": 310000, "errmsg": "sign not match"}
    msg = got.json()
    if msg.get("msgtype") != "markdown" or not msg["markdown"].get("title") or not msg["markdown"].get("text"):
        return {"errcode": 40035, "errmsg": "missing markdown"}
    if _over_limit(b, token):
        return {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
    return {"errcode": 0, "errmsg": "ok"}


def _webhook(b: Behaviour, got: Received) -> tuple[int, dict[str, Any]]:
    secret = next(iter(b.keys.values()), "")
    stamp = got.headers.get("x-yishi-timestamp", "")
    expected = "sha256=" + hmac.new(secret.encode(), stamp.encode() + b"." + got.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(got.headers.get("x-yishi-signature", ""), expected):
        return 401, {"error": "bad signature"}
    return 200, {"ok": True}


def _rfc3986(text: str) -> str:
    # Written from the signature document, apart from the client's: UTF-8 bytes, only A-Z a-z 0-9 - _ . ~ as they
    # are, every other byte %XX in capitals.
    out = []
    for byte in text.encode("utf-8"):
        ch = chr(byte)
        out.append(ch if ch.isascii() and (ch.isalnum() or ch in "-_.~") else f"%{byte:02X}")
    return "".join(out)


def _sms(b: Behaviour, got: Received) -> tuple[int, dict[str, Any]]:
    form = dict(urllib.parse.parse_qsl(got.body.decode("utf-8"), keep_blank_values=True))
    request_id = hashlib.sha1(got.body).hexdigest()[:32].upper()
    signature = form.pop("Signature", "")
    key_id = form.get("AccessKeyId", "")
    if key_id not in b.keys:
        return 404, {"Code": "InvalidAccessKeyId.NotFound", "Message": "Specified access key is not found.",
                     "RequestId": request_id}
    canonical = "&".join(f"{_rfc3986(k)}={_rfc3986(v)}" for k, v in sorted(form.items()))
    to_sign = "POST&%2F&" + _rfc3986(canonical)
    mac = hmac.new((b.keys[key_id] + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
    if signature != base64.b64encode(mac).decode():
        return 400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched with our "
                     "calculation.", "RequestId": request_id}
    nonce = form.get("SignatureNonce", "")
    if nonce in b.nonces:
        return 400, {"Code": "SignatureNonceUsed", "Message": "Specified signature nonce was used already.",
                     "RequestId": request_id}
    b.nonces.add(nonce)
    for name, value in (("Action", "SendSms"), ("Version", "2017-05-25"), ("SignatureMethod", "HMAC-SHA1"),
                        ("SignatureVersion", "1.0"), ("Format", "JSON")):
        if form.get(name) != value:
            return 400, {"Code": "InvalidParameter", "Message": f"{name}", "RequestId": request_id}
    phones = form.get("PhoneNumbers", "").split(",")
    if not all(p.isdigit() and len(p) == 11 for p in phones):
        return 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号", "RequestId": request_id}
    json.loads(form.get("TemplateParam") or "{}")
    if any(_over_limit(b, phone) for phone in phones):
        return 200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发号码分钟级流控", "RequestId": request_id}
    return 200, {"Code": "OK", "Message": "OK", "BizId": f"9006197{len(got.body):06d}^0", "RequestId": request_id}


@contextmanager
def http_server(behaviour: Behaviour) -> Iterator[_Server]:
    server = _Server(behaviour)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (openssl), to serve STARTTLS and to trust in the client."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@contextmanager
def smtp_server(folder: Path, user: str, password: str) -> Iterator[tuple[int, list[Any], Path]]:
    """aiosmtpd on 127.0.0.1: STARTTLS required before AUTH (LOGIN/PLAIN) and before any mail."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = self_signed(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    messages: list[Any] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802 - aiosmtpd's hook
            if not session.ssl or not session.authenticated:
                return "530 Must issue a STARTTLS command first"
            messages.append(envelope)
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            user.encode(), password.encode())
        return AuthResult(success=ok)

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=authenticator, auth_require_tls=True)
    controller.start()
    try:
        yield port, messages, cert
    finally:
        controller.stop()
