"""A realistic street's grid file (issue 19): communities of grids of buildings, as a street office would fill in the
template — grid codes ``JC-03-07`` (street, community, grid), a grid worker per grid (some serve two: 一人多格),
a building head per building, the party chain on every grid and building, a few member households, addresses."""

from __future__ import annotations

import csv
import io

from yishi.bench._setup import GIVEN, SURNAMES

HEADER = ("社区", "社区名称", "网格编号", "网格名称", "楼栋", "单元", "地址", "网格员", "楼栋长", "网格党支部",
          "楼栋党小组",
          "党员中心户")
ROADS = "和平建设幸福光明文化人民解放东风朝阳团结"


def person(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n // len(SURNAMES)) % len(GIVEN)] + str(n)


def street_csv(street: str = "JC", communities: int = 12, grids: int = 20, buildings: int = 10) -> bytes:
    """``communities`` × ``grids`` × ``buildings`` rows (defaults: 12 communities, 240 grids, 2,400 buildings); every
    third building is split between two entrances of the same grid."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    n = 0
    for c in range(1, communities + 1):
        community, road = f"{street.lower()}{c:02d}", ROADS[c % len(ROADS)] + ROADS[(c + 3) % len(ROADS)]
        for g in range(1, grids + 1):
            code = f"{street}-{c:02d}-{g:02d}"
            worker = person(c * 100 + (g + 1) // 2)  # two neighbouring grids share a worker
            for b in range(1, buildings + 1):
                building = str((g - 1) * buildings + b)
                entrances = ("1", "2") if b % 3 == 0 else ("",)
                for entrance in entrances:
                    n += 1
                    writer.writerow([
                        community, f"{road}社区", code, f"{road}第{g}网格", building, entrance,
                        f"{road}路{building}号楼", worker, person(100_000 + n), f"{road}第{g}网格党支部",
                        f"{building}号楼党小组", f"{building}-1-101" if b % 5 == 0 and entrance != "2" else ""])
    return out.getvalue().encode("utf-8")
