"""The public receipt check: found in the stream; after the seal, under the published final head."""

from __future__ import annotations

import re


def code_of(html: str) -> str:
    return re.search(r'id="receipt-code">([^<]+)<', html).group(1)  # type: ignore[union-attr]


async def cast(client, d, owner: str, choice: str, fields) -> str:  # type: ignore[no-untyped-def]
    form = fields((await client.get(d.path(owner))).text)
    return code_of((await client.post(form["_action"], data={**form, "choice": choice})).text)


async def test_receipt_found_while_open_then_under_the_final_head(client, store, open_deliberation, seal,
                                                                  fields) -> None:
    d = await open_deliberation(3)
    code = await cast(client, d, "o000", "against", fields)
    await cast(client, d, "o001", "for", fields)
    head = await store.head(d.id)

    page = await client.get("/receipt", params={"code": code})
    assert page.status_code == 200
    assert "这张选票在投票记录中" in page.text and "投票仍在进行" in page.text
    assert "反对" not in page.text, "the check must not reveal the choice"
    assert (await store.head(d.id)) == head, "a receipt check is read-only"

    await seal(d.id)
    final = [e for e in await store.read(d.id) if e.type == "ResultRecorded"][0]
    sealed = await client.get("/receipt", params={"code": code.lower().replace("-", " - ", 1)})
    assert sealed.status_code == 200
    assert "哈希链校验通过" in sealed.text
    assert f"第 {final.seq} 条" in sealed.text and final.hash in sealed.text
    english = await client.get("/receipt", params={"code": code, "lang": "en"})
    assert "under the published final head" in english.text


async def test_receipt_check_bad_and_unknown_codes(client) -> None:
    assert (await client.get("/receipt")).status_code == 200
    bad = await client.get("/receipt", params={"code": "hello"})
    assert bad.status_code == 422 and "收据号格式不对" in bad.text
    unknown = await client.get("/receipt", params={"code": "999999-ABCDE-12345"})
    assert unknown.status_code == 404 and "没有找到" in unknown.text


async def test_home_points_to_the_receipt_check(client) -> None:
    response = await client.get("/")
    assert response.status_code == 303 and response.headers["location"] == "/receipt"
