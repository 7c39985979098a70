"""The catalogs are complete: every message in the code and templates is in the committed messages.pot and has
a non-empty, non-fuzzy zh_CN translation with the msgid's fields (and every plural form). A string added
without `yishi i18n extract` / `update` / translating fails here (docs/i18n.md)."""

from __future__ import annotations

import pytest
from babel import Locale
from babel.messages.catalog import Catalog

from yishi.i18n import tools
from yishi.i18n.catalogs import FALLBACK_LOCALE, po_path


@pytest.fixture(scope="module")
def fresh() -> Catalog:
    """A fresh extraction from the code and templates (a few seconds: read once per module)."""
    return tools.extract()


def test_template_and_zh_cn_catalog_are_complete(fresh: Catalog) -> None:
    problems = tools.check(template=fresh)
    assert not problems, "\n".join(problems)


def test_every_label_and_marked_message_is_extracted(fresh: Catalog) -> None:
    """The label table and N_-marked domain messages reach the template (C_ and N_ are extraction keywords)."""
    keys = tools.keys(fresh)
    assert ("role", "party members") in keys and ("outcome", "not feasible") in keys
    assert (None, "the ballot box is not open yet; open it first") in keys  # domain/decider.py, N_
    assert (None, "Position of %(party)s") in keys  # workflows/consultation.py, bilingual()
    assert (None, "%(num)s check fails; see the table") in keys  # a template's ngettext


def _template(*messages: tuple[str | tuple[str, str], str | None]) -> Catalog:
    template = Catalog(domain="messages")
    for msgid, context in messages:
        template.add(msgid, context=context)
    return template


def test_the_check_names_what_a_catalog_lacks() -> None:
    """Missing, empty, fuzzy, fields that differ and missing plural forms are each reported."""
    template = _template(("Voting closes: %(when)s", None), ("Done", None), ("Owner %(owner)s", None),
                         ("Fuzzy one", None), (("%(num)s owner", "%(num)s owners"), None), ("Absent", "role"))
    catalog = Catalog(locale=Locale.parse("ru"), domain="messages")  # three plural forms
    catalog.add("Voting closes: %(when)s", "投票截止：%(when)s")
    catalog.add("Done", "")
    catalog.add("Owner %(owner)s", "业主 %(name)s")
    catalog.add("Fuzzy one", "模糊", flags=["fuzzy"])
    catalog.add(("%(num)s owner", "%(num)s owners"), ("%(num)s a", "%(num)s b"))
    found = {(p.msgid, p.what.split(" ")[0]) for p in tools.problems(catalog, template)}
    assert found == {("Done", "not"), ("Owner %(owner)s", "fields"), ("Fuzzy one", "fuzzy:"),
                     ("%(num)s owner", "2"), ("Absent", "missing")}


def test_a_string_added_to_the_code_but_not_extracted_is_caught(fresh: Catalog) -> None:
    fresh.add("A text someone added without extracting it")
    added, removed = tools.stale_template(fresh)
    fresh.delete("A text someone added without extracting it")
    assert added == {(None, "A text someone added without extracting it")} and not removed


def test_zh_cn_plural_entries_have_the_one_form_chinese_has() -> None:
    catalog = tools.read(po_path(FALLBACK_LOCALE), FALLBACK_LOCALE)
    plurals = [m for m in catalog if m.pluralizable]
    assert plurals and catalog.num_plurals == 1
    assert all(len(m.string) == 1 and m.string[0] for m in plurals)
