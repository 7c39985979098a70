"""The owner's own receipts on her own link, in plain words (issue 21, item 3): which of her ballots counts ("您的选票已
计入") and which a later one replaced ("这张选票已被您后来的选票替代").

Only her personal link shows this: the public receipt check never says whether a later ballot replaced one, so a
receipt handed to someone else cannot be used to check how, or whether still, she voted (yishi/services/receipts.py).
Which ballot counts is decided as domain.tally decides it: per standing (online/paper, her own/her proxy's when the
box has ``owner_prevails``) the last by ``cast_at`` then stream order; the first standing holding one counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from yishi import i18n
from yishi.services.voting import Box, receipt_code

RANK_OWNER_PREVAILS = ("online", "paper", "online-proxy", "paper-proxy")
RANK_LAST_WINS = ("online", "paper")


@dataclass
class MyBallot:
    code: str
    recorded_at: datetime
    status: str
    counted: bool


def _counted_seq(box: Box, owner_id: str, question_id: str, ballots: list[Any]) -> int | None:
    prevails = box.opened.owner_prevails
    tally = box.state.tally(question_id)
    ignored = {(i.cast_by, i.channel, i.cast_at) for i in tally.ignored if i.owner_id == owner_id}
    best: dict[str, tuple[tuple[Any, ...], int]] = {}
    for order, stored in enumerate(ballots):
        p = stored.payload
        cast_at = datetime.fromisoformat(p["cast_at"]) if p.get("cast_at") else None
        channel = p.get("channel", "online")
        proxied = p.get("cast_by") not in (None, owner_id)
        if (p.get("cast_by"), channel, cast_at) in ignored:
            continue
        slot = channel + ("-proxy" if proxied and prevails else "")
        key = (0, order) if cast_at is None else (1, cast_at, order)
        if slot not in best or key > best[slot][0]:
            best[slot] = (key, stored.seq)
    for slot in RANK_OWNER_PREVAILS if prevails else RANK_LAST_WINS:
        if slot in best:
            return best[slot][1]
    return None


def my_ballots(box: Box, owner_id: str, lang: str) -> list[MyBallot]:
    """Every ballot cast for the owner (by her, her proxy or the committee from her paper sheet), oldest first."""
    tr = i18n.translator(lang)
    mine = [e for e in box.events if e.type == "BallotCast" and e.payload["owner_id"] == owner_id]
    result = []
    for question in box.opened.questions:
        ballots = [e for e in mine if e.payload.get("question_id", "main") == question.id]
        counted = _counted_seq(box, owner_id, question.id, ballots)
        for stored in ballots:
            later = any(other.seq > stored.seq for other in ballots)
            if stored.seq == counted:
                status = tr.gettext("Your ballot is counted.")
            elif later and counted is not None and counted > stored.seq:
                status = tr.gettext("This ballot was replaced by your later ballot.")
            else:
                status = tr.gettext("This ballot is recorded but does not count (see the rule above).")
            result.append(MyBallot(receipt_code(stored.seq, stored.hash), stored.occurred_at, status,
                                   stored.seq == counted))
    return result
