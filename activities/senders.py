"""The wire formats of the notice channels, each as its provider documents it (CHANNELS.md).

* WeCom group robot: ``POST {wecom_url}?key=KEY`` with ``{"msgtype": "markdown", "markdown": {"content": …}}``
  (≤ 4,096 bytes); the answer ``{"errcode": 0, "errmsg": "ok"}``, ``45009`` when the robot is over its limit.
* DingTalk group robot: ``POST {dingtalk_url}?access_token=TOKEN`` (with the signature setting:
  ``&timestamp=MS&sign=`` Base64(HMAC-SHA256(secret, "MS\\nsecret"))), ``{"msgtype": "markdown", …}``;
  ``errcode`` 0, ``130101`` when sent too fast.
* Alibaba Cloud SMS, ``SendSms`` of Dysmsapi (2017-05-25), RPC style with signature version 1.0: the parameters
  sorted by name, each name and value percent-encoded (RFC 3986: only ``A-Z a-z 0-9 - _ . ~`` left as they are,
  a space as ``%20``), joined with ``=`` and ``&``; the string to sign is ``POST&%2F&`` + the encoded query;
  the signature Base64(HMAC-SHA1(AccessKeySecret + "&", string to sign)). The answer ``{"Code": "OK", "BizId": …}``;
  ``isv.BUSINESS_LIMIT_CONTROL`` (and ``Throttling.User``, ``isv.DAY_LIMIT_CONTROL``) when throttled.
* A generic webhook: ``POST url`` with the notice as JSON, ``X-Yishi-Timestamp`` and ``X-Yishi-Signature:
  sha256=`` hex HMAC-SHA256(secret, timestamp + "." + body).

A secret never appears in an error text: it is masked before anything is recorded or logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

import httpx

SMS_THROTTLED = {"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "Throttling", "isv.DAY_LIMIT_CONTROL",
                 "isv.MONTH_LIMIT_CONTROL"}


@dataclass(frozen=True)
class Sent:
    """One request's outcome: ``ok``; else ``error`` (secrets masked) and whether the server said to slow down."""

    ok: bool
    reference: str = ""
    error: str = ""
    throttled: bool = False


def mask(text: str, *secrets: str) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return text[:500]


async def _post_json(client: httpx.AsyncClient, url: str, params: dict[str, str], body: dict,
                     secrets: tuple[str, ...]) -> tuple[dict | None, Sent | None]:
    try:
        response = await client.post(url, params=params, json=body)
    except httpx.HTTPError as exc:
        return None, Sent(False, error=mask(f"{type(exc).__name__}: {exc}", *secrets))
    if response.status_code >= 400:
        return None, Sent(False, error=mask(f"HTTP {response.status_code}: {response.text[:200]}", *secrets))
    try:
        return response.json(), None
    except ValueError:
        return None, Sent(False, error=f"not JSON: {response.text[:200]}")


async def wecom(client: httpx.AsyncClient, base_url: str, key: str, content: str) -> Sent:
    answer, failed = await _post_json(client, base_url, {"key": key},
                                      {"msgtype": "markdown", "markdown": {"content": content}}, (key,))
    if failed is not None or answer is None:
        return failed or Sent(False, error="no answer")
    code = answer.get("errcode")
    if code == 0:
        return Sent(True, reference="errcode 0")
    return Sent(False, error=f"errcode {code}: {answer.get('errmsg', '')}"[:500], throttled=code == 45009)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


async def dingtalk(client: httpx.AsyncClient, base_url: str, token: str, signing: str, title: str, text: str,
                   now: datetime) -> Sent:
    params = {"access_token": token}
    if signing:
        ms = int(now.timestamp() * 1000)
        params |= {"timestamp": str(ms), "sign": dingtalk_sign(signing, ms)}
    answer, failed = await _post_json(client, base_url, params,
                                      {"msgtype": "markdown", "markdown": {"title": title, "text": text}},
                                      (token, signing))
    if failed is not None or answer is None:
        return failed or Sent(False, error="no answer")
    code = answer.get("errcode")
    if code == 0:
        return Sent(True, reference="errcode 0")
    return Sent(False, error=f"errcode {code}: {answer.get('errmsg', '')}"[:500], throttled=code == 130101)


def rpc_encode(text: str) -> str:
    """Percent-encoding of Alibaba Cloud's RPC signature (RFC 3986 unreserved characters kept, UTF-8)."""
    return quote(text, safe="-_.~")


def rpc_signature(secret: str, method: str, params: dict[str, str]) -> str:
    query = "&".join(f"{rpc_encode(k)}={rpc_encode(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{rpc_encode('/')}&{rpc_encode(query)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


async def aliyun_sms(client: httpx.AsyncClient, endpoint: str, access_key: str, phones: list[str], sign_name: str,
                     template_code: str, params: dict[str, str], now: datetime) -> Sent:
    key_id, _, secret = access_key.partition(":")
    query = {
        "AccessKeyId": key_id, "Action": "SendSms", "Format": "JSON", "PhoneNumbers": ",".join(phones),
        "SignName": sign_name, "SignatureMethod": "HMAC-SHA1", "SignatureNonce": uuid.uuid4().hex,
        "SignatureVersion": "1.0", "TemplateCode": template_code,
        "TemplateParam": json.dumps(params, ensure_ascii=False, separators=(",", ":")),
        "Timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": "2017-05-25",
    }
    query["Signature"] = rpc_signature(secret, "POST", query)
    try:
        response = await client.post(endpoint, data=query)
        answer = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return Sent(False, error=mask(f"{type(exc).__name__}: {exc}", secret, key_id))
    code = str(answer.get("Code", f"HTTP {response.status_code}"))
    if code == "OK":
        return Sent(True, reference=str(answer.get("BizId", "")))
    return Sent(False, error=f"{code}: {answer.get('Message', '')}"[:500], throttled=code in SMS_THROTTLED)


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


async def webhook(client: httpx.AsyncClient, url: str, secret: str, token: str, body: dict, idempotency_key: str,
                  now: datetime) -> Sent:
    raw = json.dumps(body, ensure_ascii=False, sort_keys=True).encode()
    stamp = str(int(now.timestamp()))
    headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key, "X-Yishi-Timestamp": stamp}
    if secret:
        headers["X-Yishi-Signature"] = webhook_signature(secret, stamp, raw)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = await client.post(url, content=raw, headers=headers)
    except httpx.HTTPError as exc:
        return Sent(False, error=mask(f"{type(exc).__name__}: {exc}", secret, token))
    if response.status_code >= 400:
        return Sent(False, error=f"HTTP {response.status_code}", throttled=response.status_code == 429)
    return Sent(True, reference=f"HTTP {response.status_code}")


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    user: str
    password: str
    starttls: bool
    sender: str
    ca_file: Path | None = None


def smtp_send(smtp: Smtp, to: list[str], subject: str, text: str) -> Sent:
    """Blocking (run it in a thread): one message to ``to`` through STARTTLS when configured."""
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, smtp.sender, ", ".join(to)
    message.set_content(text)
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=30) as client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context(
                    cafile=str(smtp.ca_file) if smtp.ca_file else None))
            if smtp.user:
                client.login(smtp.user, smtp.password)
            refused = client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        return Sent(False, error=mask(f"{type(exc).__name__}: {exc}", smtp.password))
    if refused:
        return Sent(False, error=f"refused: {', '.join(sorted(refused))}")
    return Sent(True, reference="smtp 250")
