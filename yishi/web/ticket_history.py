"""A ticket's history in plain words (issue 21 item 11): one sentence per event, organisations and levels by their
names, every time in Beijing time, codes as labels. What people typed (a question, a resolution) is shown as typed
and marked ``translate="no"`` by the template; the event's name and sequence number stay for the auditors, folded.
"""

from __future__ import annotations

from typing import Any

from domain.escalation import Department, Ladder, Ticket
from yishi import i18n
from yishi.i18n import N_, labels


def org_names(ticket: Ticket, ladder: Ladder | None, lang: str) -> dict[str, str]:
    """Organisation id → its name in ``lang`` (the ticket's levels, the community's departments, and the supervisor
    a late part of a joint ticket moves to)."""
    names: dict[str, str] = {}
    departments: list[Department] = list(ladder.departments.values()) if ladder else []
    for item in (*ticket.levels, *departments):
        if item.org:
            names.setdefault(item.org, item.name_en if lang == "en" else item.name_zh)
    if (spec := ticket.joint_spec) is not None and spec.supervisor:
        names.setdefault(spec.supervisor, spec.supervisor_en if lang == "en" else spec.supervisor_zh)
    return names


class _Namer:
    def __init__(self, tr: i18n.Translator, ticket: Ticket, names: dict[str, str]) -> None:
        self.tr, self.ticket, self.names = tr, ticket, names

    def org(self, org: object) -> str:
        return self.names.get(str(org)) or self.tr.label(org, "org")

    def who(self, payload: dict[str, Any]) -> str:
        """Who acted: a person's name as recorded, an office acting through the API (its id) by its name."""
        return labels.orgs_named(self.tr, payload.get("by", ""), self.names)

    def why(self, payload: dict[str, Any]) -> str:
        """A reason as recorded, with any organisation's id in it ("… missed by dept:market") by its name."""
        return labels.orgs_named(self.tr, payload.get("reason", ""), self.names)

    def level(self, index: object) -> str:
        levels = self.ticket.levels
        if isinstance(index, int) and 0 <= index < len(levels):
            return self.org(levels[index].org) if levels[index].org else self.tr.label(levels[index].key, "level")
        return "—"


def _part_line(tr: i18n.Translator, n: _Namer, kind: str, p: dict[str, Any]) -> str | None:  # noqa: PLR0911
    """A line of the whistle (吹哨报到) and its departments' parts (domain/joint.py), or None for another kind."""
    g, part, org = tr.gettext, p.get("part", ""), n.org(p.get("org"))
    by = n.who(p)
    if kind == "WhistleBlown":
        return g(N_("%(org)s blew the whistle, calling in %(departments)s: %(reason)s (%(by)s)."), org=org,
                 departments="、".join(n.org(d) for d in p.get("departments") or ()), reason=n.why(p), by=by)
    if kind == "PartOpened":
        return g(N_("Part %(part)s: %(org)s reports in by %(report)s and resolves by %(resolve)s."), part=part,
                 org=org, report=tr.when(p.get("report_due")), resolve=tr.when(p.get("resolve_due")))
    if kind == "PartReported":
        return g(N_("Part %(part)s: %(org)s reported in (%(by)s)."), part=part, org=org, by=by)
    if kind == "PartResolved":
        return g(N_("Part %(part)s: %(org)s resolved it: %(resolution)s (%(by)s)."), part=part, org=org,
                 resolution=p.get("resolution", ""), by=by)
    if kind == "PartReleased":
        return g(N_("Part %(part)s: %(org)s was released from it: %(reason)s (%(by)s)."), part=part, org=org,
                 reason=n.why(p), by=by)
    if kind == "PartDeadlineMissed":
        missed = (N_("Part %(part)s: %(org)s did not report in by %(due)s.") if p.get("deadline") == "report"
                  else N_("Part %(part)s: %(org)s did not resolve it by %(due)s."))
        return g(missed, part=part, org=org, due=tr.when(p.get("due_at")))
    if kind == "PartEscalated":
        return g(N_("Part %(part)s passed up from %(from)s to %(to)s: %(reason)s."), part=part,
                 reason=n.why(p), **{"from": n.org(p.get("from_org")), "to": n.org(p.get("to_org"))})
    return None


def _line(tr: i18n.Translator, n: _Namer, kind: str, p: dict[str, Any]) -> str:  # noqa: PLR0911 - one per kind
    g = tr.gettext
    if (part := _part_line(tr, n, kind, p)) is not None:
        return part
    if kind == "EscalationOpened":
        return g(N_("Ticket opened: %(subject)s (%(category)s)."), subject=p.get("subject", ""),
                 category=tr.label(p.get("category"), "category"))
    if kind == "LevelAssigned":
        return g(N_("%(reason)s: %(org)s handles it; acknowledge by %(ack)s, resolve by %(resolve)s."),
                 reason=tr.label(p.get("reason"), "assign_reason"), org=n.org(p.get("org")),
                 ack=tr.when(p.get("ack_due")), resolve=tr.when(p.get("resolve_due")))
    if kind == "Acknowledged":
        return g(N_("%(org)s acknowledged it (%(by)s)."), org=n.org(p.get("org")), by=n.who(p))
    if kind == "InfoRequested":
        return g(N_("%(org)s asked for information: %(question)s (%(by)s)."), org=n.org(p.get("org")),
                 question=p.get("question", ""), by=n.who(p))
    if kind == "InfoProvided":
        return g(N_("The information was provided: %(answer)s (%(by)s)."), answer=p.get("answer", ""),
                 by=n.who(p))
    if kind == "TransferRequested":
        return g(N_("%(from)s asked to transfer it to %(to)s: %(reason)s (%(by)s)."), reason=n.why(p),
                 by=n.who(p), **{"from": n.org(p.get("from_org")), "to": n.org(p.get("to_org"))})
    if kind == "TransferAccepted":
        return g(N_("%(org)s accepted the transfer (%(by)s)."), org=n.org(p.get("org")), by=n.who(p))
    if kind == "TransferDeclined":
        return g(N_("%(org)s declined the transfer: %(reason)s (%(by)s)."), org=n.org(p.get("org")),
                 reason=n.why(p), by=n.who(p))
    if kind == "Resolved":
        return g(N_("%(org)s resolved it (%(outcome)s): %(resolution)s (%(by)s)."), org=n.org(p.get("org")),
                 outcome=tr.label(p.get("outcome"), "outcome"),
                 resolution=labels.orgs_named(tr, p.get("resolution", ""), n.names), by=n.who(p))
    if kind == "DeadlineMissed":
        return g(N_("%(org)s missed the deadline to %(deadline)s (due %(due)s)."), org=n.org(p.get("org")),
                 deadline=tr.label(p.get("deadline"), "deadline_kind"), due=tr.when(p.get("due_at")))
    if kind == "Escalated":
        return g(N_("Passed up from %(from)s to %(to)s."), **{"from": n.level(p.get("from_level")),
                                                              "to": n.level(p.get("to_level"))})
    if kind == "FollowUpAnswered":
        line = g(N_("The initiator rated it: %(answer)s."), answer=tr.label(p.get("answer"), "answer"))
        return f"{line} {p['comment']}" if p.get("comment") else line
    if kind == "Reopened":
        return g(N_("Reopened at %(org)s: the initiator was not satisfied."), org=n.level(p.get("level")))
    if kind == "Closed":
        return g(N_("Closed (%(outcome)s)."), outcome=tr.label(p.get("outcome"), "outcome"))
    if kind == "Cancelled":
        return g(N_("Cancelled with its deliberation."))
    if kind == "FollowUpSlipPrinted":  # ``by`` is "role name"
        role = str(p.get("role", ""))
        name = str(p.get("by", "")).removeprefix(f"{role} ")
        return g(N_("%(role)s %(name)s printed the owner's follow-up slip."), role=tr.label(role, "role"), name=name)
    if kind == "NoticePublished":
        return g(N_("Notice published: %(title)s."), title=p.get("title_en" if tr.code == "en" else "title_zh", ""))
    if kind == "NoticeDelivered":
        return g(N_("The notice was sent (%(channel)s)."), channel=tr.label(p.get("channel"), "channel"))
    if kind == "NoticeDeliveryFailed":
        return g(N_("The notice could not be sent (%(channel)s, attempt %(attempt)s)."),
                 channel=tr.label(p.get("channel"), "channel"), attempt=p.get("attempt", ""))
    return g(N_("Recorded: %(kind)s."), kind=kind)


def history(tr: i18n.Translator, ticket: Ticket, events: list[Any], names: dict[str, str]) -> list[dict[str, Any]]:
    """The lines of the ticket page's history, oldest first."""
    namer = _Namer(tr, ticket, names)
    return [{"seq": e.seq, "type": e.type, "at": e.occurred_at, "text": _line(tr, namer, e.type, e.payload)}
            for e in events]
