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
