"""Checks shared by the topic rules (pure): non-empty bounded text, the topic's status, who may act.

Refusals are :class:`~domain.errors.Text` messages (English msgids with fields, translated where they are shown);
``what`` and ``action`` arguments are msgids themselves (marked ``N_`` by the caller), nested as fields.
"""

from __future__ import annotations

from collections.abc import Collection

from domain.errors import N_, Items, Label, Text
from domain.topic_commands import TopicError
from domain.topic_events import Actor
from domain.topic_state import Topic

SYSTEM = Actor(kind="system", name="workflow", community="")


def status_label(status: str) -> Label:
    """A topic's status as its label (yishi/i18n/labels.py, context ``topic_status``)."""
    return Label("topic_status", status)


def bounded(value: str, limit: int, what: str) -> str:
    """``value`` stripped, or :class:`TopicError` when it is empty or longer than ``limit`` (``what``: its name)."""
    text = value.strip()
    if not text:
        raise TopicError(N_("%(what)s is empty; fill it in"), what=Text(what))
    if len(text) > limit:
        raise TopicError(N_("%(what)s has %(length)s characters, at most %(limit)s; shorten it"), what=Text(what),
                         length=len(text), limit=limit)
    return text


def in_status(t: Topic, statuses: Collection[str], action: str) -> None:
    if t.status not in statuses:
        raise TopicError(N_("topic %(topic)s is now '%(status)s': you cannot %(action)s"), topic=t.topic_id,
                         status=status_label(t.status), action=Text(action))


def by_staff(t: Topic, by: Actor, kinds: Collection[str], action: str) -> None:
    if by.kind not in kinds:
        raise TopicError(N_("a %(kind)s cannot %(action)s (who can: %(allowed)s)"), kind=Label("actor", by.kind),
                         action=Text(action), allowed=Items(Label("actor", k) for k in sorted(kinds)))
    if by.kind not in ("street_office", "system") and by.community != t.community:
        raise TopicError(N_("the topic belongs to community '%(community)s'; %(name)s (of '%(theirs)s') cannot "
                            "%(action)s"), community=t.community, name=by.name, theirs=by.community,
                         action=Text(action))


def not_finished(t: Topic, action: str) -> None:
    if not t.finished:
        return
    if t.merged_into:
        raise TopicError(N_("topic %(topic)s was merged into topic %(into)s: %(action)s there"), topic=t.topic_id,
                         into=t.merged_into, action=Text(action))
    raise TopicError(N_("topic %(topic)s is now '%(status)s': you cannot %(action)s"), topic=t.topic_id,
                     status=status_label(t.status), action=Text(action))
