"""The raw-code scan itself (tests/raw_codes.py): ids of organisations and people are caught like codes."""

from __future__ import annotations

import pytest

from tests.raw_codes import raw_codes


def page(body: str, lang: str = "zh-CN") -> str:
    return f'<!doctype html><html lang="{lang}"><head><title>t</title></head><body>{body}</body></html>'


@pytest.mark.parametrize("shown", ["dept:urban", "grid:xfl:g01", "committee:xfl", "street:s1", "secretary:xfl",
                                   "hotline:xfl", "owner:o001", "person:p7", "org:x", "community:xfl",
                                   "dept:urban-3f2a"])
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_an_id_in_visible_text_is_caught(shown: str, lang: str) -> None:
    found = raw_codes(page(f"<p>转交给 {shown}</p><td>{shown}</td>", lang))
    assert found and all(shown in item for item in found), found


def test_ids_in_attributes_code_and_translate_no_and_urls_are_not_visible_codes() -> None:
    html = page('<a href="/console/org/dept:urban" title="dept:urban">城管局</a><code>dept:urban</code>'
                '<span translate="no">grid:xfl:g01</span><p>见 https://example.org/grid:xfl 第 12:30 时</p>'
                '<option value="dept:urban">城市管理局</option>')
    assert raw_codes(html) == []


def test_an_organisation_id_is_shown_by_its_name() -> None:
    """The ``org`` label and ``orgs_named`` (a joint ticket's resolution joins its parts by department id): a
    default department by its name, another id by its kind and place; never the id itself."""
    from yishi import i18n
    from yishi.i18n.labels import orgs_named

    zh, en = i18n.translator("zh"), i18n.translator("en")
    assert zh.label("dept:urban", "org") == "区城市管理委员会（城管）" and en.label("dept:urban", "org") == \
        "District urban management"
    assert zh.label("grid:幸福社区:g01", "org") == "网格（幸福社区 g01）" and zh.label("street", "org") == "街道办事处"
    assert en.label("committee:xfl", "org") == "community committee (xfl)"
    joined = "dept:housing：已依法处理\ndept:urban：已免除（重复） / released (重复)"
    named = orgs_named(zh, joined, {"dept:urban": "城管局"})
    assert named == "区住房和城乡建设委员会（房管）：已依法处理\n城管局：已免除（重复） / released (重复)"
    assert raw_codes(page(f"<p>{named}</p>")) == [] and raw_codes(page(f"<p>{joined}</p>"))
