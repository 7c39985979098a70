"""Property-replacement candidates as the console's start form takes them, one a line: ``ID name`` with the company's
统一社会信用代码 optionally last, and the black-list warnings shown beside them (yishi/services/companies.py
``candidate_flags``: shown, never refused; the owners decide)."""

from __future__ import annotations

import re

from fastapi import Request

from domain.credit_code import LENGTH, credit_code_problem, normalise
from yishi.i18n.points import black_list_flag
from yishi.services.companies import candidate_flags
from yishi.web.render import page_translator

CANDIDATE_ID = re.compile(r"^[A-Za-z0-9_-]{1,20}$")


def candidate_lines(raw: str) -> list[tuple[int, str, dict[str, str] | None]]:
    """The candidates' lines, ``ID name`` with the company's 统一社会信用代码 optionally last (18 letters and digits):
    ``(line number, line, candidate)``, the candidate None when the line cannot be read; the code is not checked
    here."""
    out: list[tuple[int, str, dict[str, str] | None]] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        cid, _, name = line.partition(" ")
        words, tail = name.split(), 0  # the code may be printed in groups, as on some licences
        while tail < len(words) - 1 and words[-1 - tail].isascii() and words[-1 - tail].isalnum() and len(
                "".join(words[-1 - tail:])) <= LENGTH:
            tail += 1
        code = normalise("".join(words[len(words) - tail:]))
        candidate: dict[str, str] = {"id": cid}
        if len(code) == LENGTH:
            name, candidate["credit_code"] = " ".join(words[:len(words) - tail]), code
        candidate["name"] = name.strip()[:100]
        out.append((number, line, candidate if CANDIDATE_ID.match(cid) and candidate["name"] else None))
    return out


async def candidate_warnings(request: Request, raw: str) -> list[str]:
    """The warnings beside candidates whose code is on a street's latest black list (shown, never refused)."""
    candidates = [c for _n, _l, c in candidate_lines(raw) if c and "credit_code" in c
                  and credit_code_problem(c["credit_code"]) is None]
    if not candidates:
        return []
    state, tr = request.app.state, page_translator(request)
    flags = await candidate_flags(state.pool, state.store, candidates)
    by_id = {c["id"]: c for c in candidates}
    return [black_list_flag(tr, cid, by_id[cid], flag) for cid, found in flags.items() for flag in found]
