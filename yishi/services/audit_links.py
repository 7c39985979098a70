"""The auditor's view of what staff did to personal links (pure): rows in, a :class:`Check` and a report out.

The link events of a deliberation (domain/link_events.py) say who issued, reissued, revoked and showed which
links. Each online ballot records the generation of the link it came through (``BallotCast.link_generation``).
Together they answer the question an owner asks when a ballot in their name surprises them: was it cast
through a link the committee reissued, and who had been shown the live links?

The ``links`` check fails when an online ballot names a link generation that no ``LinksIssued`` or
``LinkReissued`` recorded, in a deliberation whose links are recorded at all (a link row written to the
database behind the chain's back). Ballots from before link generations were recorded carry none and are not
checked; neither are those of a deliberation whose links were all issued before link events existed.
``tools/verify_export.py`` computes the same from an export.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.chain import format_instant
from domain.link_events import LINK_EVENT_TYPES, LinkAct, LinkLedger, link_event_from_dict
from domain.procedures import deliberation_of
from yishi.services.audit_checks import Check, Row

SHOWN = 200
"""Entries of each list in the report; the counts cover them all."""


def ledger_of(rows: Sequence[Row]) -> LinkLedger:
    """The link events of one stream, folded."""
    ledger = LinkLedger()
    for row in rows:
        if row["type"] in LINK_EVENT_TYPES:
            ledger.apply(link_event_from_dict(row["type"], row["payload"]), row["seq"])
    return ledger


def _act(act: LinkAct, stream_id: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"stream_id": stream_id, "seq": act.seq, "at": format_instant(act.at), "by": act.by,
                             "via": act.via}
    if act.kind == "disclosed":
        entry |= {"format": act.format, "households": act.households}
    else:
        entry |= {"owner_id": act.owner_id, "generation": act.generation, "reason": act.reason}
    return entry


def _ballots(rows_by_stream: Mapping[str, Sequence[Row]]) -> list[tuple[str, Row, str, int]]:
    """``(stream, row, link holder, generation)`` of every ballot that records its link's generation."""
    found = []
    for stream_id, rows in rows_by_stream.items():
        for row in rows:
            payload = row["payload"]
            generation = payload.get("link_generation") if row["type"] == "BallotCast" else None
            if isinstance(generation, int):
                holder = payload.get("cast_by") or payload.get("owner_id")
                found.append((stream_id, row, str(holder), generation))
    return found


def link_audit(deliberation_id: str, rows_by_stream: Mapping[str, Sequence[Row]]) -> tuple[Check, dict[str, Any]]:
    """The ``links`` check and the report's ``links`` section: reissues, revocations, disclosures, the ballots
    cast through a reissued link, and any ballot whose link the chain does not record."""
    ledgers = {stream_id: ledger_of(rows) for stream_id, rows in rows_by_stream.items()}
    reissued_ballots, untraced = [], []
    for stream_id, row, holder, generation in _ballots(rows_by_stream):
        # A link names the deliberation (a re-vote's ballots go to the round's own stream) or, rarely, the box.
        places = [s for s in dict.fromkeys((stream_id, deliberation_of(stream_id))) if s in ledgers]
        act = next((a for s in places if (a := ledgers[s].issue_of(holder, generation)) is not None), None)
        ballot = {"stream_id": stream_id, "seq": row["seq"], "owner_id": row["payload"].get("owner_id"),
                  "cast_by": row["payload"].get("cast_by"), "link_generation": generation}
        if act is None:
            if any(ledgers[s].made for s in places):
                untraced.append(ballot)
        elif act.kind == "reissued":
            reissued_ballots.append(ballot | {"reissued_at": format_instant(act.at), "reissued_by": act.by,
                                              "reissued_via": act.via, "reissue_seq": act.seq})
    acts = [(s, a) for s, ledger in ledgers.items() for a in ledger.acts]
    section = {
        "issued": sum(1 for ledger in ledgers.values() for a in ledger.made.values() if a.kind == "issued"),
        "reissues": [_act(a, s) for s, a in acts if a.kind == "reissued"][:SHOWN],
        "revocations": [_act(a, s) for s, a in acts if a.kind == "revoked"][:SHOWN],
        "disclosures": [_act(a, s) for s, a in acts if a.kind == "disclosed"][:SHOWN],
        "reissued_ballots": reissued_ballots[:SHOWN],
        "untraced_ballots": untraced[:SHOWN],
        "counts": {"reissues": sum(a.kind == "reissued" for _, a in acts),
                   "revocations": sum(a.kind == "revoked" for _, a in acts),
                   "disclosures": sum(a.kind == "disclosed" for _, a in acts),
                   "reissued_ballots": len(reissued_ballots), "untraced_ballots": len(untraced)},
    }
    return _check(deliberation_id, section, untraced), section


def _check(deliberation_id: str, section: dict[str, Any], untraced: list[dict[str, Any]]) -> Check:
    counts = section["counts"]
    if untraced:
        first = untraced[0]
        holder = first["cast_by"] or first["owner_id"]
        detail = (f"seq {first['seq']}: a ballot of owner {first['owner_id']} came through generation "
                  f"{first['link_generation']} of {holder}'s link, which no LinksIssued or LinkReissued records "
                  f"(a link written behind the chain's back); {len(untraced)} such ballots")
        return Check("links", False, detail, first["stream_id"], first["seq"])
    detail = (f"{section['issued']} links issued, {counts['reissues']} reissued and {counts['revocations']} "
              f"revoked by staff; {counts['reissued_ballots']} ballots cast through a reissued link; "
              f"{counts['disclosures']} disclosures of live links (prints, downloads)")
    return Check("links", True, detail, deliberation_id)
