"""The scan of pages that reload themselves (tests/refresh_forms.py) knows the waiting pages' marker
(templates/_auto_reload.html), not only a meta refresh (issue 21)."""

from tests.refresh_forms import fillable_on_refresh

MARKER = '<p class="auto-reload" data-reload-every="3"><a href="/x" data-reload-link>刷新</a></p>'


def test_a_page_with_the_reload_marker_may_carry_no_field_to_fill_in() -> None:
    page = MARKER + '<form method="post"><input name="owner_id"><textarea name="note"></textarea></form>'
    assert fillable_on_refresh(page) == ["<input name='owner_id' type=None>", "<textarea name='note' type=None>"]


def test_hidden_fields_and_buttons_lose_nothing_and_a_page_without_the_marker_is_not_scanned() -> None:
    kept = '<form method="post"><input type="hidden" name="csrf" value="c"><button type="submit">打印</button></form>'
    assert fillable_on_refresh(MARKER + kept) == []
    assert fillable_on_refresh('<form><input name="owner_id"></form>') == []
