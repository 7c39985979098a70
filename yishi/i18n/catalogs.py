"""Gettext catalogs: which languages the site speaks, and their translations compiled in memory.

The msgids are English (the gettext convention), so English needs no catalog; every other language has a
``messages.po`` under ``<dir>/<locale>/LC_MESSAGES/``. Catalogs are read with Babel and compiled into memory the
first time a language is used (no ``.mo`` is committed or built at install). A language whose catalog lacks a
message falls back to Chinese (zh_CN, the complete catalog), then to the English msgid.

Which languages: :func:`configure` (called by the web app and the CLI with the settings) sets the locales, e.g.
``["zh_CN", "en", "ug_CN"]``, and extra catalog folders searched before the built-in ``yishi/locale``. A
language's code in URLs and cookies (``?lang=ug``) is its locale's language subtag.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
SOURCE_LOCALE = "en"  # the msgids' language
FALLBACK_LOCALE = "zh_CN"  # the complete catalog every other language falls back to
DEFAULT_LOCALES = ("zh_CN", "en")


@dataclass(frozen=True)
class Language:
    """One language the site speaks: ``code`` in URLs and cookies, ``identifier`` as configured (its catalog's
    folder name), ``locale`` for Babel's formats, ``tag`` for HTML's ``lang=``."""

    code: str
    identifier: str
    locale: Locale

    @property
    def tag(self) -> str:
        """The BCP 47 tag for HTML's ``lang`` attribute (zh-CN, en, ug-CN)."""
        return self.identifier.replace("_", "-")

    @property
    def name(self) -> str:
        """The language's own name for it (中文, English, ئۇيغۇرچە), for the language switch."""
        return self.locale.language_name or self.code


@dataclass(frozen=True)
class Config:
    languages: tuple[Language, ...]
    dirs: tuple[Path, ...]


def _language(identifier: str) -> Language:
    locale = Locale.parse(identifier)  # zh_CN parses as zh_Hans_CN: keep the identifier as written
    return Language(code=locale.language, identifier=identifier, locale=locale)


def make_config(locales: Sequence[str] = DEFAULT_LOCALES, dirs: Sequence[Path] = ()) -> Config:
    languages = tuple(_language(identifier) for identifier in locales)
    codes = [language.code for language in languages]
    if len(set(codes)) != len(codes):
        raise ValueError(f"two locales share a language code: {', '.join(locales)}")
    return Config(languages=languages, dirs=(*(Path(d) for d in dirs), LOCALE_DIR))


_config = make_config()


def configure(locales: Sequence[str] = DEFAULT_LOCALES, dirs: Sequence[Path] = ()) -> None:
    """Set the languages (Babel locale identifiers) and extra catalog folders; clears what was compiled."""
    global _config
    _config = make_config(locales, dirs)
    translations.cache_clear()
    _on_configure()


_listeners: list[object] = []


def on_configure(callback: object) -> None:
    """``callback()`` runs after every :func:`configure` (the web layer drops its per-language templates)."""
    _listeners.append(callback)


def _on_configure() -> None:
    for callback in _listeners:
        callback()  # type: ignore[operator]


def config() -> Config:
    return _config


def languages() -> tuple[Language, ...]:
    return _config.languages


def language(code: str) -> Language:
    """The configured language with this code; a code not configured is Chinese (the site's first language)."""
    for candidate in _config.languages:
        if candidate.code == code:
            return candidate
    for candidate in _config.languages:
        if candidate.identifier == FALLBACK_LOCALE:
            return candidate
    return _language(FALLBACK_LOCALE)


def po_path(locale: str, directory: Path = LOCALE_DIR) -> Path:
    return directory / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def find_po(locale: str) -> Path | None:
    for directory in _config.dirs:
        if (path := po_path(locale, directory)).is_file():
            return path
    return None


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, domain=DOMAIN)


def compile_catalog(catalog: Catalog) -> Translations:
    """The catalog as gettext translations, compiled in memory; fuzzy entries are left out (untranslated)."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


@functools.lru_cache(maxsize=16)
def translations(locale: str) -> NullTranslations:
    """The translations of ``locale`` (e.g. "zh_CN"), falling back to zh_CN's, then to the English msgid."""
    path = find_po(locale)
    own: NullTranslations | None = compile_catalog(read_catalog(path, locale)) if path else None
    if locale == FALLBACK_LOCALE or Locale.parse(locale).language == Locale.parse(SOURCE_LOCALE).language:
        # English is the msgids' language: it never falls back to Chinese; zh_CN is the end of the chain.
        return own or NullTranslations()
    fallback = translations(FALLBACK_LOCALE)
    if own is None:
        return fallback
    own.add_fallback(fallback)
    return own


def fallback_catalog() -> Catalog:
    """The complete catalog (zh_CN) as Babel reads it, for checks of what is translated."""
    path = find_po(FALLBACK_LOCALE)
    if path is None:
        raise FileNotFoundError(f"no {FALLBACK_LOCALE} catalog under {', '.join(map(str, _config.dirs))}")
    return read_catalog(path, FALLBACK_LOCALE)
