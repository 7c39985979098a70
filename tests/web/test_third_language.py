"""A further language costs a catalog, not code: a tiny Uyghur (ug_CN) catalog in a folder of its own and the
locale added to the settings list serve every page in it, with what the catalog lacks in Chinese (zh_CN)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from babel import Locale
from babel.dates import format_date
from babel.messages.catalog import Catalog

from domain.legal_calendar import BEIJING
from tests.web.conftest import BASE_URL
from yishi import i18n
from yishi.i18n import tools
from yishi.i18n.catalogs import po_path
from yishi.settings import Settings
from yishi.web.app import create_app

UG = {
    "Question": "مەسىلە",
    "Cast my ballot": "بېلەت تاشلاش",
    "Check a receipt": "تالوننى تەكشۈرۈش",
}
UG_LABEL = ("choice", "For", "قوشۇلىمەن")


@pytest.fixture
def ug_catalog(tmp_path: Path) -> Iterator[Path]:
    catalog = Catalog(locale=Locale.parse("ug_CN"), domain="messages", project="yishi")
    for msgid, text in UG.items():
        catalog.add(msgid, text)
    catalog.add(UG_LABEL[1], UG_LABEL[2], context=UG_LABEL[0])
    catalog.add("Skip to content", "مەزمۇنغا ئاتلاش", flags=["fuzzy"])  # fuzzy: not used, Chinese instead
    tools.write(catalog, po_path("ug_CN", tmp_path))
    yield tmp_path
    i18n.configure()  # the other tests' languages


@pytest.fixture
async def ug_client(settings: Settings, pool, store, ug_catalog: Path) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    app = create_app(settings.model_copy(update={"languages": ["zh_CN", "en", "ug_CN"],
                                                 "locale_dirs": [ug_catalog]}))
    app.state.pool, app.state.store = pool, store
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        yield client


async def test_a_page_in_a_third_language_falls_back_to_chinese(ug_client, open_deliberation) -> None:
    d = await open_deliberation(2)
    page = await ug_client.get(d.path("o000"), params={"lang": "ug"})
    assert page.status_code == 200
    html = page.text
    assert '<html lang="ug-CN">' in html
    assert all(text in html for text in UG.values())  # the catalog's own texts
    assert UG_LABEL[2] in html  # a label (pgettext) from the catalog
    assert "反对" in html and "弃权" in html  # labels it lacks: Chinese
    assert "跳到正文" in html and "مەزمۇنغا ئاتلاش" not in html  # a fuzzy entry is not a translation
    day = format_date(d.closes_at.astimezone(BEIJING), "long", locale="ug_CN")
    assert f"{day} {d.closes_at.astimezone(BEIJING):%H:%M}（北京时间）" in html  # a Uyghur date, Chinese around
    assert page.cookies.get("lang") == "ug"
    # The switch offers the other languages in their own names, and the cookie keeps the choice.
    assert ">中文<" in html and ">English<" in html
    again = await ug_client.get(d.path("o000"))
    assert '<html lang="ug-CN">' in again.text


async def test_a_language_not_in_the_settings_is_not_served(client, open_deliberation, ug_catalog) -> None:
    d = await open_deliberation(2)
    page = await client.get(d.path("o000"), params={"lang": "ug"})
    assert '<html lang="zh-CN">' in page.text and UG["Question"] not in page.text
