"""Commands to a ballot box, in the imperative. Times are always passed in by the caller."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict

from domain.ballots import DEFAULT_PROXY_LIMIT, Channel, Choice
from domain.events import Question
from domain.roll import Roll, Scope


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OpenBox(_Command):
    deliberation_id: str
    questions: tuple[Question, ...]
    rule_id: str
    scope: Scope
    roll: Roll
    opens_at: AwareDatetime
    closes_at: AwareDatetime
    ballots_changeable: bool = True
    proxy_limit: int = DEFAULT_PROXY_LIMIT
    deem_silent: bool = False
    deem_over_half: bool = False
    roll_ref: str | None = None
    paper_entry_until: AwareDatetime | None = None
    """Paper ballots filled in before ``closes_at`` are entered until then (``None``: only until ``closes_at``)."""
    closes_fallback_years: tuple[int, ...] = ()
    owner_prevails: bool = True
    """The owner's own ballot counts over her proxy's whatever their order (RULES.md); recorded on ``BoxOpened``.
    False only to reproduce a box opened before the rule was recorded."""


class CastBallot(_Command):
    owner_id: str
    choice: Choice
    cast_at: AwareDatetime
    question_id: str = "main"
    channel: Channel = "online"
    cast_by: str | None = None
    paper_ref: str | None = None
    idempotency_key: str | None = None
    entered_by: int | None = None
    """The clerk's console account id, for a paper ballot (see :class:`domain.events.BallotCast`)."""
    link_generation: int | None = None
    """The generation of the personal link an online ballot was posted through (see :class:`BallotCast`)."""


class AuthoriseProxy(_Command):
    owner_id: str
    proxy_owner_id: str
    at: AwareDatetime


class RevokeProxy(_Command):
    owner_id: str
    proxy_owner_id: str
    at: AwareDatetime


class SealBox(_Command):
    at: AwareDatetime
    reason: str = "deadline"
    """``deadline`` (only at or after the box's ``seals_at``: the end of paper entry, else ``closes_at``), or
    another reason to seal early, e.g. ``withdrawn``."""


Command = OpenBox | CastBallot | AuthoriseProxy | RevokeProxy | SealBox
