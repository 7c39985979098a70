"""Who may act on an escalation ticket (pure): the rule the ticket workflow's update validators apply before
anything is decided (issue 17).

The commands of :mod:`domain.escalation` check the state (is there anything to acknowledge, is the
outcome one of the ticket's); this module checks the actor, by the organisation the caller acts for:

* an owner's action (acknowledge, ask for information, resolve, ask for a transfer) comes from the
  organisation that owns the ticket now, with a role of its level;
* a transfer's answer (accept, decline) comes from the organisation the transfer is addressed to;
* a joint ticket's actions (the whistle, a part's report-in and resolution, a release) by the rule of
  domain/joint_commands.py ``authorise_part``;
* the initiator's answers (provide information, the satisfaction follow-up) come from the initiator only:
  a hotline's ticket from that hotline's system (role ``hotline``),
  an owner through their personal link (role ``owner``, the link's owner id), or, for a ticket a
  committee opened, the committee **of the ticket's community** (``committee:<community>``). Before this
  rule any committee account could answer any committee ticket, close it and skew its satisfaction rate.

Every refusal says who may act instead (zh / en).
"""

from __future__ import annotations

from domain.errors import N_, Items, Label
from domain.escalation import OWNING_ROLES, EscalationError, Ticket
from domain.joint_commands import JOINT_ACTIONS, authorise_part

LEVEL_ACTIONS = ("acknowledge", "request_info", "resolve", "request_transfer")
TRANSFER_ACTIONS = ("accept_transfer", "decline_transfer")
INITIATOR_ACTIONS = ("provide_info", "follow_up")


def committee_org(community: str) -> str:
    """The organisation a community's committee acts for (the ladder's ``community`` level)."""
    return f"committee:{community}"


def authorise(ticket: Ticket, action: str, *, role: str, org: str, by: str, part: int = 0) -> None:
    """Raise :class:`EscalationError` unless ``by`` (role ``role``, acting for ``org``) may do ``action``
    (on joint part ``part``: domain/joint_commands.py ``authorise_part``)."""
    if action in JOINT_ACTIONS:
        authorise_part(ticket, action, role=role, org=org, part=part)
    elif action in LEVEL_ACTIONS:
        _owning(ticket, role, org)
    elif action in TRANSFER_ACTIONS:
        _receiving(ticket, role, org)
    elif action in INITIATOR_ACTIONS:
        _initiator(ticket, role, org, by)
    else:
        raise EscalationError(N_("unknown action '%(action)s'"), action=action)


def _named(org: str) -> None:
    if not org.strip():
        raise EscalationError(N_("the account acts for no organisation; an administrator sets one (yishi user add "
                "--org)"))


def _owning(ticket: Ticket, role: str, org: str) -> None:
    _named(org)
    current = ticket.current
    if current is None or ticket.owner is None:
        return  # nothing to own: the command says why (the ticket's state)
    if org != current.org:
        raise EscalationError(N_("ticket %(ticket_id)s is owned by '%(owner)s', not by '%(org)s'"),
                              ticket_id=ticket.ticket_id,
                              owner=current.org, org=org)
    if role not in OWNING_ROLES:
        raise EscalationError(N_("role '%(role)s' cannot act on a ticket (allowed: %(roles)s)"),
                              role=Label("role", role),
                              roles=Items(Label("role", r) for r in OWNING_ROLES))


def _receiving(ticket: Ticket, role: str, org: str) -> None:
    _named(org)
    pending = ticket.transfer
    if pending is None:
        return  # the command says there is no transfer waiting
    if org != pending.to_org or role not in OWNING_ROLES:
        raise EscalationError(N_("the transfer is addressed to '%(to_org)s', not '%(org)s'"),
                              to_org=pending.to_org, org=org)


def _initiator(ticket: Ticket, role: str, org: str, by: str) -> None:
    if ticket.initiator_kind == "hotline":  # the 12345 system that created the ticket answers for its caller
        if role != "hotline" or org != ticket.initiator:
            raise EscalationError(N_("only the hotline that created the ticket (%(initiator)s) may answer"),
                                  initiator=ticket.initiator)
        return
    if ticket.initiator_kind == "owner":
        if role != "owner" or by != ticket.initiator:
            raise EscalationError(N_("only the initiator (owner %(initiator)s) may answer, through their personal "
                    "link; staff cannot answer for them"), initiator=ticket.initiator)
        return
    own = committee_org(ticket.community)
    if role != "committee" or org != own:
        raise EscalationError(N_("only the initiator ('%(own)s') may answer, not '%(role)s'"),
                              own=own, role=org or role)
