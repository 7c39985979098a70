"""``yishi meeting show``: a meeting as text, Chinese first (``--lang en`` for English)."""

from __future__ import annotations

from domain.errors import Lang
from domain.legal_calendar import BEIJING
from domain.meeting_events import DECISION_ZH, KIND_ZH, PARTY_ZH
from domain.meeting_state import STATUS_ZH, Meeting


def _t(instant: object) -> str:
    return instant.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if instant else "—"  # type: ignore[attr-defined]


def render(m: Meeting, lang: Lang = "zh") -> str:
    zh = lang == "zh"
    lines = [f"{m.meeting_id}  {m.title}  ({KIND_ZH[m.kind] if zh else m.kind})",
             f"{'时间' if zh else 'when'}: {_t(m.starts_at)} (UTC+8)  {'地点' if zh else 'where'}: {m.place}",
             f"{'状态' if zh else 'status'}: {STATUS_ZH[m.status] if zh else m.status}"
             + (f"  ({'确认截止' if zh else 'confirm by'} {_t(m.confirm_until)})" if m.confirm_until else "")]
    if m.series_id or m.deliberation_id:
        lines.append(f"{'系列' if zh else 'series'}: {m.series_id or '—'}  "
                     f"{'协商程序' if zh else 'consultation'}: {m.deliberation_id or '—'}")
    lines.append(f"{'参会方' if zh else 'parties'}:")
    for p in m.parties.values():
        confirmed = m.confirmed.get(p.party_id)
        state = (f"{'已确认第' if zh else 'confirmed v'}{confirmed}{'版' if zh else ''}" if confirmed
                 else ("未确认" if zh else "not confirmed")) if m.status in ("held", "published") else ""
        present = ("，已签到" if zh else ", present") if p.party_id in m.attendees else ""
        lines.append(f"  {p.party_id} {p.name} [{PARTY_ZH.get(p.kind, p.kind) if zh else p.kind}]{present} {state}")
    guests = [a.name for a in m.attendees.values() if a.party_id is None]
    if guests:
        lines.append(f"{'列席' if zh else 'guests'}: {'、'.join(guests)}")
    for i, item in m.items.items():
        topic = f" ({item.topic_id})" if item.topic_id else ""
        lines.append(f"-- {i}. {item.title}{topic}")
        for o in item.options:
            lines.append(f"   {'方案' if zh else 'option'} {o.id}: {o.text}")
        for party, pos in item.positions.items():
            lines.append(f"   {'意见' if zh else 'position'} {party}: {pos.option or '—'} {pos.text} ({pos.via})")
        if item.minutes:
            lines.append(f"   {'纪要' if zh else 'minutes'} (v{len(item.minutes)}): {item.minutes[-1]}")
        d = item.decision
        if d is not None:
            lines.append(f"   {'决定' if zh else 'decision'}: {DECISION_ZH[d.kind] if zh else d.kind} — {d.summary}"
                         + (f" [{d.option}]" if d.option else "") + (f" {d.owner} {d.due or ''}" if d.owner else "")
                         + (f" → {d.deliberation_id}" if d.deliberation_id else "")
                         + (f" → {d.ticket_id}" if d.ticket_id else ""))
            for ms in d.milestones:
                lines.append(f"     {'节点' if zh else 'milestone'} {ms.name} {ms.due}")
        if item.vote is not None:
            lines.append(f"   {'表决结果' if zh else 'vote'}: {item.vote.winner or '—'} ({item.vote.reason})")
    return "\n".join(lines)
