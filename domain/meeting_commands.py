"""Commands on a meeting (imperative, frozen models carrying ``at``) and the error they raise when refused.

See :mod:`domain.meetings` for the life of a meeting and what each command checks.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.errors import DomainError
from domain.legal_calendar import BEIJING
from domain.meeting_events import MeetingDecision, MeetingScheduled, Option, PartySpec, Via
from domain.topic_events import Actor

MAX_TITLE, MAX_PLACE, MAX_NAME, MAX_TEXT, MAX_MINUTES, MAX_REASON = 100, 100, 60, 2000, 20000, 500
MAX_ITEMS, MAX_PARTIES, MAX_OPTIONS = 30, 50, 10
DOORS_OPEN = timedelta(hours=2)
"""How long before the start sign-in opens and the clerk may record (the room is set up, people arrive)."""
STAFF = frozenset(("committee", "grid_worker", "street_office", "system"))


class MeetingError(DomainError):
    """A meeting action is refused (wrong state, role or input); the message says what to do."""


def when(instant: datetime) -> str:
    """An instant inside a message: Beijing time to the minute, the same in every language."""
    return instant.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") + " (UTC+8)"


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: AwareDatetime


class Schedule(_Command):
    kind: Literal["schedule"] = "schedule"
    event: MeetingScheduled


class AddItem(_Command):
    kind: Literal["add_item"] = "add_item"
    by: Actor
    title: str
    topic_id: str | None = None
    options: tuple[Option, ...] = ()


class Invite(_Command):
    kind: Literal["invite"] = "invite"
    by: Actor
    party: PartySpec
    link_subject: str


class StatePosition(_Command):
    kind: Literal["state_position"] = "state_position"
    by: Actor
    party_id: str
    item_id: str
    option: str | None = None
    text: str = ""
    via: Via
    link_sha256: str | None = None


class SignAttendance(_Command):
    kind: Literal["sign_attendance"] = "sign_attendance"
    by: Actor
    party_id: str | None = None
    name: str = ""
    via: Via
    link_sha256: str | None = None


class RecordMinutes(_Command):
    """``confirm_until``: when the session is closed already, the new end of the confirmation window."""

    kind: Literal["record_minutes"] = "record_minutes"
    by: Actor
    item_id: str
    text: str
    confirm_until: AwareDatetime | None = None
    fallback_years: tuple[int, ...] = ()


class Decide(_Command):
    kind: Literal["decide"] = "decide"
    by: Actor
    item_id: str
    decision: MeetingDecision


class NoteVote(_Command):
    kind: Literal["note_vote"] = "note_vote"
    item_id: str
    deliberation_id: str
    outcomes: dict[str, str]
    winner: str | None = None
    reason: Literal["winner", "tie", "none", "approved", "rejected"]
    tied: tuple[str, ...] = ()
    head_seq: int
    head_hash: str


class Hold(_Command):
    kind: Literal["hold"] = "hold"
    by: Actor
    confirm_until: AwareDatetime
    fallback_years: tuple[int, ...] = ()


class Confirm(_Command):
    kind: Literal["confirm"] = "confirm"
    by: Actor
    party_id: str
    minutes_version: int
    via: Via
    link_sha256: str | None = None


class Publish(_Command):
    kind: Literal["publish"] = "publish"


class Cancel(_Command):
    kind: Literal["cancel"] = "cancel"
    by: Actor
    reason: str


MeetingCommand = Annotated[
    Schedule | AddItem | Invite | StatePosition | SignAttendance | RecordMinutes | Decide | NoteVote | Hold | Confirm
    | Publish | Cancel,
    Field(discriminator="kind"),
]
