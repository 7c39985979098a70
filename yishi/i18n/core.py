"""One language's texts: gettext with ``%(name)s`` fields, labels of codes, dates, times and numbers.

``translator(code)`` gives the :class:`Translator` of a page or command's language. Its ``gettext``,
``ngettext``, ``pgettext`` and ``npgettext`` are what ``pybabel extract`` looks for in code, so a msgid is a string
literal at the call: ``tr.gettext("Voting closes: %(when)s", when=tr.when(closes_at))``. Fields are always
applied with ``%`` (as Jinja's newstyle gettext does in templates), so a literal percent sign is written ``%%``.

Strict mode (the test suite turns it on): a message missing from the zh_CN catalog raises instead of showing
English on a Chinese page, so a string added without extracting and translating it fails the first test that
renders it.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from domain.errors import Text
from domain.legal_calendar import BEIJING, fallback_note
from yishi.i18n import catalogs, errors, labels
from yishi.i18n.catalogs import Language

STRICT = False


class MissingTranslationError(LookupError):
    """A message shown to a user has no zh_CN translation (strict mode only)."""


def _check(key: str | tuple[str, int]) -> None:
    if not STRICT:
        return
    known = getattr(catalogs.translations(catalogs.FALLBACK_LOCALE), "_catalog", {})
    if key not in known:
        raise MissingTranslationError(
            f"not in the {catalogs.FALLBACK_LOCALE} catalog: {key!r}; run `yishi i18n extract` and translate it "
            "(docs/i18n.md)")


def _format(text: str, params: dict[str, object]) -> str:
    return text % params


class Translator:
    """The texts of one language (see the module docstring)."""

    def __init__(self, language: Language) -> None:
        self.language = language
        self.code = language.code
        self.locale = language.locale
        self._t = catalogs.translations(language.identifier)

    # ---- messages (the raw forms take no fields: Jinja's newstyle wrappers apply them) -------------------

    def gettext_raw(self, msgid: str) -> str:
        _check(msgid)
        return self._t.gettext(msgid)

    def ngettext_raw(self, singular: str, plural: str, n: int) -> str:
        _check((singular, 0))
        return self._t.ngettext(singular, plural, n)

    def pgettext_raw(self, context: str, msgid: str) -> str:
        _check(f"{context}\x04{msgid}")
        return self._t.pgettext(context, msgid)

    def npgettext_raw(self, context: str, singular: str, plural: str, n: int) -> str:
        _check((f"{context}\x04{singular}", 0))
        return self._t.npgettext(context, singular, plural, n)

    def gettext(self, msgid: str, /, **params: object) -> str:
        return _format(self.gettext_raw(msgid), params)

    def ngettext(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        return _format(self.ngettext_raw(singular, plural, n), {"num": n, **params})

    def pgettext(self, context: str, msgid: str, /, **params: object) -> str:
        return _format(self.pgettext_raw(context, msgid), params)

    def npgettext(self, context: str, singular: str, plural: str, n: int, /, **params: object) -> str:
        return _format(self.npgettext_raw(context, singular, plural, n), {"num": n, **params})

    # ---- codes, errors ----------------------------------------------------------------------------------

    def label(self, code: object, context: str, scope: str | None = None) -> str:
        """The label of a code (a role, an outcome, a stage…): see :mod:`yishi.i18n.labels`."""
        return labels.label(self, context, code, scope)

    def error(self, error: object) -> str:
        """A domain error, a file issue or a workflow refusal, in this language (:mod:`yishi.i18n.errors`)."""
        return errors.error_text(self, error)

    def calendar_fallback(self, years: object) -> str:
        """The warning beside a deadline counted on weekends only in ``years`` (empty when there are none)."""
        return self.error(fallback_note(tuple(years))) if years else ""  # type: ignore[arg-type]

    # ---- dates, times, numbers --------------------------------------------------------------------------

    def when(self, instant: datetime | str | None) -> str:
        """An instant as residents read it: Beijing time, to the minute (an ISO 8601 string is read first)."""
        if instant is None:
            return "—"
        if isinstance(instant, str):
            instant = datetime.fromisoformat(instant)
        return _when(self, instant)

    def date(self, day: date | None) -> str:
        return "—" if day is None else format_date(day, "long", locale=self.locale)

    def number(self, value: Decimal | int | str | None) -> str:
        """A decimal exactly as given (an area, an amount), with the locale's separators; never rounded."""
        if value is None:
            return "—"
        return format_decimal(Decimal(str(value)), locale=self.locale, decimal_quantization=False)

    def ratio(self, value: Fraction) -> str:
        """A fraction such as 2/3 as written in this language (numerals, not a rounded percentage)."""
        return f"{self.number(value.numerator)}/{self.number(value.denominator)}"


@functools.lru_cache(maxsize=4096)
def _when(tr: Translator, instant: datetime) -> str:
    # Pages show the same few instants again and again (a box's deadline, a group commit's time).
    local = instant.astimezone(BEIJING)
    return tr.gettext("%(date)s, %(time)s (Beijing time)", date=format_date(local, "long", locale=tr.locale),
                      time=format_time(local, "HH:mm", locale=tr.locale))


@functools.lru_cache(maxsize=32)
def _translator(language: Language, _generation: int) -> Translator:
    return Translator(language)


_generation = 0


def _reset() -> None:
    global _generation
    _generation += 1
    _when.cache_clear()


catalogs.on_configure(_reset)


def translator(code: str) -> Translator:
    """The translator of the language with this code (``zh``, ``en``, ``ug``…); an unknown code is Chinese."""
    return _translator(catalogs.language(code), _generation)


ZH = Language(code="zh", identifier=catalogs.FALLBACK_LOCALE, locale=Locale.parse(catalogs.FALLBACK_LOCALE))
EN = Language(code="en", identifier=catalogs.SOURCE_LOCALE, locale=Locale.parse(catalogs.SOURCE_LOCALE))


def bilingual(msgid: str, /, **params: object) -> tuple[str, str]:
    """``msgid`` in Chinese and English, for records that keep both texts (notices, task titles, a workflow's
    refusals): fields that are a :class:`~domain.errors.Text`, :class:`~domain.errors.Items` or
    :class:`~yishi.i18n.labels.Label` are translated into each language too. Chinese and English whatever the
    configured languages, since the records have exactly these two."""
    message = Text(msgid, **params)
    return errors.text(_translator(ZH, _generation), message), errors.text(_translator(EN, _generation), message)


def bilingual_error(error: object) -> tuple[str, str]:
    """A domain error, a :class:`~domain.errors.Text` or a workflow refusal in Chinese and English (the JSON API
    answers with both)."""
    zh, en = _translator(ZH, _generation), _translator(EN, _generation)
    return errors.error_text(zh, error), errors.error_text(en, error)


def both(message: str | object, /, **params: object) -> str:
    """``中文 / English`` on one line, for command-line output that speaks to either reader: a msgid with its
    fields, or a domain error."""
    zh, en = bilingual(message, **params) if isinstance(message, str) else bilingual_error(message)
    return zh if zh == en else f"{zh} / {en}"


def calendar_fallback(years: object, lang: str) -> str:
    """:meth:`Translator.calendar_fallback` in ``lang`` (the CLI's status)."""
    return translator(lang).calendar_fallback(years)


def pick_lang(query: str | None, cookie: str | None, default: str = "zh") -> str:
    """The language of a request: ``?lang=``, else the ``lang`` cookie, else the default, else Chinese."""
    codes = {language.code for language in catalogs.languages()}
    for candidate in (query, cookie, default):
        if candidate in codes:
            return candidate  # type: ignore[return-value]
    return "zh"
