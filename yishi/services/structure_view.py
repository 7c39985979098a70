"""A community's structure as a document (the CLI's ``yishi grid show``, the console's pages): its grids with their
buildings, workers, building heads and party organisations, as they stand now or stood at an instant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.ladders import grid_org
from domain.structure import Structure


def structure_doc(s: Structure, at: datetime | None = None, building: str | None = None,
                  entrance: str = "") -> dict[str, Any]:
    """The whole structure at ``at`` (now if None), or with ``building`` only whose grid it was in then."""
    if building is not None:
        code = s.grid_of(building, entrance, at)
        return {"community": s.community, "building": building, "entrance": entrance,
                "at": at.isoformat() if at else None, "grid": code,
                "org": grid_org(s.community, code) if code else None,
                "grids": list(s.grids_of(building, entrance, at)),
                "workers": [t.person for t in s.workers(code, at)] if code else []}
    grids = []
    for code, g in sorted(s.grids.items()):
        if at is not None and not g.live(at) and g.defined_at > at:
            continue
        grids.append({
            "code": code, "name": g.name, "org": grid_org(s.community, code),
            "retired_at": g.retired_at.isoformat() if g.retired_at else None,
            "buildings": [p.building + (f"-{p.entrance}" if p.entrance else "") for p in s.buildings_of(code, at)],
            "workers": [t.person for t in s.workers(code, at)],
            "building_heads": {t.building: t.person for t in s.workers(code, at, role="building_head")},
            "party": [{"org_id": o.org_id, "kind": o.kind, "name": o.name, "parent": o.parent}
                      for o in s.party.values()
                      if o.grid == code and (o.until is None if at is None else o.covers(at))],
        })
    ladder = s.ladder_at(at)
    return {"community": s.community, "name": s.name, "street": s.street, "at": at.isoformat() if at else None,
            "grids": grids, "ladder_version": ladder.version if ladder else 0}
