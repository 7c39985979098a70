"""Who acts on a community ledger (points, volunteers, property appraisals): a name, a role and where from.

Staff name their console account or, from the CLI, their own name (``--name``, default the login name) with a
role (``--role``); a person acting through their own capability link is named by their opaque person id
(``via="link"``); the system (a workflow's timer) is ``system``. Every event of these streams carries one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["committee", "grid_worker", "street_office", "department", "auditor", "party_member", "clerk",
               "person", "owner", "system"]
Via = Literal["console", "cli", "link", "system"]
STAFF_ROLES: frozenset[str] = frozenset(("committee", "grid_worker", "street_office", "department"))


class Operator(BaseModel):
    """Who did it: ``name`` (an account, a person id, ``system``), in what ``role``, and ``via`` what."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    role: Role
    via: Via

    @property
    def staff(self) -> bool:
        return self.role in STAFF_ROLES


SYSTEM = Operator(name="system", role="system", via="system")
