"""``yishi meeting show``: a meeting as text, Chinese first (``--lang en`` for English)."""

from __future__ import annotations

from domain.errors import Lang
from domain.meeting_state import Meeting
from yishi.i18n import translator


def render(m: Meeting, lang: Lang = "zh") -> str:
    tr = translator(lang)
    sep = tr.pgettext("list separator", ", ")
    lines = [f"{m.meeting_id}  {m.title}  ({tr.label(m.kind, 'meeting_kind')})",
             tr.gettext("When: %(when)s  Where: %(place)s", when=tr.when(m.starts_at), place=m.place),
             tr.gettext("Status: %(status)s", status=tr.label(m.status or "none", "meeting_status"))
             + ("  " + tr.gettext("(confirm by %(until)s)", until=tr.when(m.confirm_until)) if m.confirm_until else "")]
    if m.series_id or m.deliberation_id:
        lines.append(tr.gettext("Series: %(series)s  Consultation: %(consultation)s", series=m.series_id or "—",
                                consultation=m.deliberation_id or "—"))
    lines.append(tr.gettext("Parties:"))
    for p in m.parties.values():
        confirmed = m.confirmed.get(p.party_id)
        state = ((tr.gettext("confirmed version %(version)s", version=confirmed) if confirmed
                  else tr.gettext("not confirmed")) if m.status in ("held", "published") else "")
        present = tr.gettext("signed in at the meeting") if p.party_id in m.attendees else ""
        lines.append(f"  {p.party_id} {p.name} [{tr.label(p.kind, 'party_kind')}] {present} {state}".rstrip())
    guests = [a.name for a in m.attendees.values() if a.party_id is None]
    if guests:
        lines.append(tr.gettext("Guests: %(names)s", names=sep.join(guests)))
    for i, item in m.items.items():
        topic = f" ({item.topic_id})" if item.topic_id else ""
        lines.append(f"-- {i}. {item.title}{topic}")
        for o in item.options:
            lines.append("   " + tr.gettext("Option %(id)s: %(text)s", id=o.id, text=o.text))
        for party, pos in item.positions.items():
            lines.append("   " + tr.gettext("Position of %(party)s: %(option)s %(text)s (%(via)s)", party=party,
                                            option=pos.option or "—", text=pos.text, via=tr.label(pos.via, "via")))
        if item.minutes:
            lines.append("   " + tr.gettext("Minutes (version %(version)s): %(text)s", version=len(item.minutes),
                                            text=item.minutes[-1]))
        d = item.decision
        if d is not None:
            lines.append("   " + tr.gettext("Decision: %(kind)s — %(summary)s", kind=tr.label(d.kind, "decision"),
                                            summary=d.summary)
                         + (f" [{d.option}]" if d.option else "") + (f" {d.owner} {d.due or ''}" if d.owner else "")
                         + (f" → {d.deliberation_id}" if d.deliberation_id else "")
                         + (f" → {d.ticket_id}" if d.ticket_id else ""))
            for ms in d.milestones:
                lines.append("     " + tr.gettext("Milestone %(name)s: %(due)s", name=ms.name, due=tr.date(ms.due)))
        if item.vote is not None:
            lines.append("   " + tr.gettext("Vote: %(winner)s (%(reason)s)", winner=item.vote.winner or "—",
                                            reason=tr.label(item.vote.reason, "vote_reason")))
    return "\n".join(lines)
