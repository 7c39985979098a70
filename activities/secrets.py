"""Channel secrets, named by reference: the database says "robot ``bldg-3``", the settings hold its key.

A secret of kind ``wecom`` named ``bldg-3`` is, in this order:

1. the environment variable (or ``.env`` line) ``YISHI_SECRETS__WECOM__BLDG_3`` (the name upper-cased, every
   character other than a letter or a digit written ``_``);
2. ``{"wecom": {"bldg-3": "…"}}`` in the JSON file named by ``YISHI_SECRETS_FILE`` (mode 0600; a file the
   operator keeps beside ``.env``).

Kinds: ``wecom`` (the robot's ``key``), ``dingtalk`` (``ACCESS_TOKEN`` or ``ACCESS_TOKEN:SIGNING_SECRET``),
``sms`` (``ACCESS_KEY_ID:ACCESS_KEY_SECRET``), ``webhook`` (the signing secret). Values never reach the
database, an event, an activity's input or a log line.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def env_name(kind: str, ref: str) -> str:
    """``YISHI_SECRETS__WECOM__BLDG_3`` for (``wecom``, ``bldg-3``)."""
    return f"YISHI_SECRETS__{_norm(kind)}__{_norm(ref)}"


def _norm(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", text).upper()


class SecretsFile(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YISHI_", env_file=".env", extra="ignore")

    secrets_file: Path | None = None


class MissingSecretError(RuntimeError):
    def __init__(self, kind: str, ref: str) -> None:
        super().__init__(f"no secret for {kind} '{ref}': set {env_name(kind, ref)} (or put it in YISHI_SECRETS_FILE "
                         f"under {kind} → {ref})")


class ChannelSecrets:
    """Looks secrets up by (kind, reference); ``values`` replaces the environment (tests, an operator's tool)."""

    def __init__(self, values: dict[str, str] | None = None, file: Path | None = None) -> None:
        self._values = values
        self._file = file if values is not None else (file or SecretsFile().secrets_file)

    def get(self, kind: str, ref: str) -> SecretStr:
        name = env_name(kind, ref)
        source = self._values if self._values is not None else {**_dotenv(), **os.environ}
        if name in source and source[name]:
            return SecretStr(source[name])
        if self._file is not None and self._file.exists():
            found = (json.loads(self._file.read_text(encoding="utf-8")).get(kind) or {}).get(ref)
            if found:
                return SecretStr(str(found))
        raise MissingSecretError(kind, ref)

    def has(self, kind: str, ref: str) -> bool:
        try:
            self.get(kind, ref)
        except MissingSecretError:
            return False
        return True


class NoSecretsFileError(RuntimeError):
    """The console was asked to keep a secret but the operator has not named a secrets file."""


def store_secret(kind: str, ref: str, value: str, file: Path | None = None) -> Path:
    """Keep ``value`` as the secret of (``kind``, ``ref``) in the secrets file (``YISHI_SECRETS_FILE``), written
    whole to a new file of mode 0600 and moved into place, so a reader never sees half a file. The value is
    written once and never read back for display; the file is the operator's (back it up with ``.env``)."""
    path = file or SecretsFile().secrets_file
    if path is None:
        raise NoSecretsFileError("YISHI_SECRETS_FILE is not set")
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data.setdefault(kind, {})[ref] = value
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, ensure_ascii=False, indent=1)
    os.replace(tmp, path)
    return path


def _dotenv() -> dict[str, str]:
    path = Path(".env")
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.startswith("YISHI_SECRETS__"):
            out[key] = value.strip().strip("'\"")
    return out
