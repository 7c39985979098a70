"""Domain errors, file issues and workflow refusals in the reader's language.

The domain raises :class:`~domain.errors.DomainError` with a :class:`~domain.errors.Text` (an English msgid and its
fields); a workflow refuses with an ``ApplicationError`` whose details carry the same text (:func:`refusal`).
:func:`error_text` turns any of them into the words of one language; fields that are texts or lists are
translated too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.errors import N_, Bilingual, DomainError, Issue, Items, Label, Text, issue_text

if TYPE_CHECKING:
    from yishi.i18n.core import Translator


def text(tr: Translator, message: Text) -> str:
    """One message in the translator's language (its text and list fields translated first)."""
    return tr.gettext(message.msgid, **{name: field(tr, value) for name, value in message.params.items()})


def field(tr: Translator, value: Any) -> Any:
    if isinstance(value, Text):
        return text(tr, value)
    if isinstance(value, Bilingual):
        return value.en if tr.locale.language == "en" else value.zh
    if isinstance(value, Label):
        return tr.label(value.code, value.context, value.scope)
    if isinstance(value, Items):
        return tr.pgettext("list separator", ", ").join(str(field(tr, item)) for item in value)
    return value


def error_lines(tr: Translator, error: object) -> list[str]:
    """The error as lines: one per issue of a file's errors, else one."""
    if isinstance(error, DomainError):
        return [text(tr, line) for line in error.texts]
    if isinstance(error, Issue):
        return [text(tr, issue_text(error))]
    if isinstance(error, Text):
        return [text(tr, error)]
    wired = wired_text(error)
    return [text(tr, wired)] if wired is not None else [str(error)]


def error_text(tr: Translator, error: object) -> str:
    return "\n".join(error_lines(tr, error))


def wired_text(error: object) -> Text | None:
    """The text a workflow refusal carries in its details (an ``ApplicationError`` or its cause), if any."""
    seen = 0
    while error is not None and seen < 4:
        details = getattr(error, "details", None)
        if details and isinstance(details[0], dict) and "msgid" in details[0]:
            return Text.from_wire(details[0])
        error = getattr(error, "cause", None)
        seen += 1
    return None


def refusal(error: BaseException) -> Text:
    """What a workflow's refusal (an update failure, an activity's ``ApplicationError``) says, as a text: the
    wired text when it carries one, else its message as it is."""
    wired = wired_text(error)
    if wired is not None:
        return wired
    message = getattr(error, "message", None) or str(error)
    return Text(N_("%(message)s"), message=message)
