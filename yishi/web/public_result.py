"""The public page of a deliberation (公示, issue 18): no sign-in, no names, no phones, no rooms.

``/p/{deliberation_id}`` (the address the printed notices' QR codes, the robots' messages and ``yishi status``'s
``public_url`` give) shows the stage and its deadline, the notices posted to every household with their dates, and
the result: the figures of :mod:`yishi.services.results` worded by :func:`domain.result_summary.summary_lines`
(the same lines as the printed 公示 sheet, the console and ``yishi status``), the stream's head hash with a QR
code, and the two plain lines on what checking it needs. Notices to some owners only (a reminder to non-voters) are
left out: who has not voted is not public. A page: it changes nothing; printable with the browser.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from domain.result_summary import summary_lines
from yishi.services.results import summaries
from yishi.services.voting import deliberation_info
from yishi.web.render import not_found_page, page_lang, render
from yishi.web.sheets import qr_data_uri
from yishi.web.voter import UNAVAILABLE, unavailable

router = APIRouter()
MAX_ID = 100


def _public_notices(events: list[Any]) -> list[dict[str, Any]]:
    return [{**e.payload, "at": datetime.fromisoformat(e.payload["at"])} for e in events
            if e.payload.get("recipients") is None and not e.payload.get("recipients_list")]


def _stage(events: list[Any]) -> dict[str, Any] | None:
    if not events:
        return None
    last = events[-1].payload
    deadline = last.get("deadline")
    return {"stage": last["stage"], "deadline": datetime.fromisoformat(deadline) if deadline else None}


@router.get("/p/{deliberation_id}")
async def public_page(request: Request, deliberation_id: str) -> Response:
    if len(deliberation_id) > MAX_ID:
        return not_found_page(request)
    store = request.app.state.store
    try:
        info = await deliberation_info(request.app.state.pool, deliberation_id)
        stages = await store.read_types(deliberation_id, ["StageEntered"])
        notices = await store.read_types(deliberation_id, ["NoticePublished"])
        results = await summaries(store, deliberation_id) if info is not None or stages else []
    except UNAVAILABLE:
        return unavailable(request)
    if info is None and not stages:
        return not_found_page(request)
    lang = "en" if page_lang(request) == "en" else "zh"
    stage = _stage(stages)
    figures = [{"summary": s, "lines": summary_lines(s, lang),
                "qr": qr_data_uri(s.head.hash) if s.head is not None else None} for s in results]
    response = render(request, "public.html", info=info or {}, deliberation_id=deliberation_id, stage=stage,
                      procedure=(info or {}).get("procedure"), notices=_public_notices(notices), figures=figures,
                      english=lang == "en")
    response.headers["Cache-Control"] = "public, max-age=30"
    return response
