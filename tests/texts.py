"""A domain error, a file issue or a message text as the reader sees it, in Chinese or English."""

from __future__ import annotations

from yishi.i18n import translator


def zh(error: object) -> str:
    return translator("zh").error(error)


def en(error: object) -> str:
    return translator("en").error(error)
