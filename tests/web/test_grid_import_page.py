"""The grid file uploaded in the console: only a street office (refused from the headers otherwise), the CSRF field
first, the file read in the child process within the grid file's limits, every problem listed and nothing
recorded unless the whole file is good; a good file records each community's changes with the account as ``by``."""

from __future__ import annotations

import re
import uuid

from domain.structure import stream_id

PATH = "/console/structure/import"


def _csv(*rows: str) -> bytes:
    return ("社区,社区名称,网格编号,网格名称,楼栋,地址,网格员\r\n" + "\r\n".join(rows) + "\r\n").encode()


async def _pair(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    html = (await client.get("/console/structure")).text
    return dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', html))


async def test_a_street_office_imports_a_grid_file(sign_in, store) -> None:
    a, b = f"gi{uuid.uuid4().hex[:6]}", f"gi{uuid.uuid4().hex[:6]}"
    good = _csv(f"{a},甲社区,A-01,甲一网格,1,甲路1号楼,王网格", f"{a},甲社区,A-01,甲一网格,2,甲路2号楼,王网格",
                f"{b},乙社区,B-01,乙一网格,1,乙路1号楼,李网格")
    name = f"街道-{uuid.uuid4().hex[:4]}"
    street = await sign_in("street_office", name, community=None)
    committee = await sign_in("committee", community=a)
    refused = await committee.post(PATH, data={**await _pair(committee), "street": "jc"},
                                   files={"file": ("grids.csv", good, "text/csv")})
    assert refused.status_code == 403
    forged = await street.post(PATH, data={"nonce": "x", "csrf": "0" * 32, "street": "jc"},
                               files={"file": ("grids.csv", good, "text/csv")})
    assert forged.status_code == 403
    bad = _csv(f"{a},甲社区,A_01,甲一网格,1,,", f"{a},甲社区,A-02,,,,")
    listed = await street.post(PATH, data={**await _pair(street), "street": "jc"},
                               files={"file": ("grids.csv", bad, "text/csv")})
    assert listed.status_code == 422, listed.text[-600:]
    assert "第2行" in listed.text and "第3行" in listed.text and "A_01" in listed.text, listed.text[-1500:]
    assert await store.read(stream_id(a)) == [], "nothing is recorded from a file with problems"
    done = await street.post(PATH, data={**await _pair(street), "street": "jc"},
                             files={"file": ("grids.csv", good, "text/csv")})
    assert done.status_code == 200 and 'id="imported"' in done.text, done.text[-600:]
    for community, grids in ((a, ["A-01"]), (b, ["B-01"])):
        events = await store.read(stream_id(community))
        assert [e.payload["code"] for e in events if e.type == "GridDefined"] == grids
        assert {e.payload["by"] for e in events} == {f"street_office {name}"}
    before = len(await store.read(stream_id(a)))
    again = await street.post(PATH, data={**await _pair(street), "street": "jc"},
                              files={"file": ("grids.csv", good, "text/csv")})
    assert again.status_code == 200 and len(await store.read(stream_id(a))) == before, "the same file: no change"
