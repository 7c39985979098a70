"""The translator's workflow as functions (``yishi i18n …`` and the catalog tests call them).

extract: read the code and templates (``babel.cfg``) into ``yishi/locale/messages.pot``; update: merge the
template into each language's ``messages.po`` (new entries empty, changed ones fuzzy); check: list what a
catalog lacks (untranslated, fuzzy, placeholders that differ, plural forms missing) and whether the committed
template is out of date; init: start the catalog of a new language.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from yishi.i18n.catalogs import DOMAIN, FALLBACK_LOCALE, LOCALE_DIR, po_path
from yishi.settings import PROJECT_DIR

KEYWORDS = {**DEFAULT_KEYWORDS, "C_": ((1, "c"), 2), "both": None, "bilingual": None}
MAPPING = PROJECT_DIR / "babel.cfg"
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
WIDTH = 120
_FIELD = re.compile(r"%\((\w+)\)[sdif]|%%")


def extract(root: Path = PROJECT_DIR) -> Catalog:
    """Every message in the code and templates, as a template catalog (locations without line numbers)."""
    with MAPPING.open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    template = Catalog(project="yishi", domain=DOMAIN, msgid_bugs_address="", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(root), method_map, options_map, keywords=KEYWORDS, comment_tags=("Translators:",),
            strip_comment_tags=True):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, domain=DOMAIN)


def write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=WIDTH, include_lineno=False, ignore_obsolete=True, sort_by_file=False)


def write_template(template: Catalog | None = None) -> Catalog:
    template = template or extract()
    write(template, TEMPLATE)
    return template


def locales(directory: Path = LOCALE_DIR) -> list[str]:
    return sorted(p.parent.parent.name for p in directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def update(template: Catalog | None = None, directory: Path = LOCALE_DIR) -> list[Path]:
    """Merge the template into every catalog under ``directory``; returns the files written."""
    template = template or read(TEMPLATE)
    written = []
    for locale in locales(directory):
        path = po_path(locale, directory)
        catalog = read(path, locale)
        catalog.update(template, update_header_comment=False)
        write(catalog, path)
        written.append(path)
    return written


def init(locale: str, directory: Path = LOCALE_DIR) -> Path:
    """Start ``locale``'s catalog from the template (every entry empty)."""
    path = po_path(locale, directory)
    if path.exists():
        raise FileExistsError(f"{path} exists; run `yishi i18n update` instead")
    template = read(TEMPLATE)
    catalog = Catalog(locale=Locale.parse(locale), project="yishi", domain=DOMAIN, charset="utf-8")
    catalog.update(template)
    write(catalog, path)
    return path


def keys(catalog: Catalog) -> set[tuple[str | None, str]]:
    return {(m.context, _singular(m)) for m in catalog if m.id}


def _singular(message: Message) -> str:
    return message.id[0] if isinstance(message.id, tuple | list) else message.id


def fields(text: str) -> list[str]:
    return sorted(name for name in _FIELD.findall(text) if name)


@dataclass(frozen=True)
class Problem:
    context: str | None
    msgid: str
    what: str

    def __str__(self) -> str:
        where = f"[{self.context}] " if self.context else ""
        return f"{where}{self.msgid!r}: {self.what}"


def problems(catalog: Catalog, template: Catalog) -> Iterator[Problem]:
    """What ``catalog`` lacks for ``template``: untranslated, fuzzy, fields that differ, plural forms missing."""
    forms = catalog.num_plurals
    for wanted in template:
        if not wanted.id:
            continue
        msgid = _singular(wanted)
        message = catalog.get(wanted.id, context=wanted.context)
        if message is None:
            yield Problem(wanted.context, msgid, "missing (run `yishi i18n update`)")
            continue
        if message.fuzzy:
            yield Problem(wanted.context, msgid, "fuzzy: check the translation and remove the fuzzy flag")
        strings = list(message.string) if isinstance(message.string, tuple | list) else [message.string]
        if not all(strings):
            yield Problem(wanted.context, msgid, "not translated")
            continue
        if wanted.pluralizable and len(strings) != forms:
            yield Problem(wanted.context, msgid, f"{len(strings)} plural forms, the language has {forms}")
        ids = list(wanted.id) if wanted.pluralizable else [wanted.id]
        expected = set().union(*(fields(i) for i in ids))
        for string in strings:
            if set(fields(string)) != expected and not (wanted.pluralizable and set(fields(string)) <= expected):
                yield Problem(wanted.context, msgid, f"fields {fields(string)} differ from the msgid's "
                                                     f"{sorted(expected)}")


def stale_template(template: Catalog) -> tuple[set, set]:
    """(added, removed) between a fresh extraction and the committed template."""
    committed = keys(read(TEMPLATE))
    fresh = keys(template)
    return fresh - committed, committed - fresh


def check(directory: Path = LOCALE_DIR, template: Catalog | None = None) -> list[str]:
    """Everything wrong with the committed template and the catalogs under ``directory``, as lines."""
    template = template or extract()
    added, removed = stale_template(template)
    lines = [f"not in messages.pot (run `yishi i18n extract`): {m!r}" for _, m in sorted(added, key=str)]
    lines += [f"in messages.pot but no longer in the code (run `yishi i18n extract`): {m!r}"
              for _, m in sorted(removed, key=str)]
    for locale in locales(directory):
        catalog = read(po_path(locale, directory), locale)
        strict = locale == FALLBACK_LOCALE
        found = [p for p in problems(catalog, template) if strict or p.what.startswith(("fuzzy", "fields"))]
        lines += [f"{locale}: {p}" for p in found]
    return lines
