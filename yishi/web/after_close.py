"""The personal link after the close (issue 21, item 2): what the owner voted, whether it counted, and the result
with its figures, or when the result will be posted (after paper entry, when the box seals)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request, Response

from domain.tally_result import TallyResult
from yishi import i18n
from yishi.web.ballot_facts import RULE_SENTENCES
from yishi.web.ballot_status import ballot_status
from yishi.web.my_ballots import my_ballots
from yishi.web.render import page_lang, render
from yishi.web.voter import Voter


@dataclass
class ClosedQuestion:
    text: str
    mine: str
    """What the owner voted and whether it counts, in plain words."""
    result: TallyResult | None


def _mine(voter: Voter, lang: str, question_id: str) -> str:
    tr = i18n.translator(lang)
    status = ballot_status(voter, lang, question_id, closed=True)
    if status is None:
        return tr.gettext("You did not vote in this vote.")
    return status + tr.gettext(" This ballot is counted.")


def my_vote(voter: Voter, lang: str) -> str:
    """What she voted on the box's first question and whether it counted (the matter page after the vote)."""
    return _mine(voter, lang, voter.box.opened.questions[0].id)


def closed_ballot_page(request: Request, voter: Voter, closed: datetime, token: str) -> Response:
    lang = page_lang(request)
    box, info = voter.box, voter.info or {}
    recorded = box.state.recorded
    questions = []
    for question in box.opened.questions:
        text = (question.text_en if lang == "en" else None) or question.text_zh
        if len(box.opened.questions) == 1:
            text = ((info.get("question_en") if lang == "en" else None) or info.get("question_zh") or text)
        result = recorded.results.get(question.id) if recorded is not None else None
        questions.append(ClosedQuestion(text, _mine(voter, lang, question.id), result))
    sentence = RULE_SENTENCES.get(box.opened.rule_id)
    page: dict[str, Any] = {
        "title": info.get("title") or questions[0].text, "closed": closed, "questions": questions,
        "posted_by": None if recorded is not None else box.opened.seals_at,
        "rule_sentence": i18n.translator(lang).gettext(sentence) if sentence else "",
        "mine": my_ballots(box, voter.owner_id, lang),
    }
    return render(request, "ballot_closed.html", no_store=True, page=page, token=token)
