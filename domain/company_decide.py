"""Commands on a street's register of property companies and the decider (pure; time and ids passed in)."""

from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.appraisal_events import AppraisalItem, CompanyRef, OwnerWeight
from domain.company_events import (
    AppraisalScheduled,
    CompanyEvent,
    CompanyRegistered,
    EstateAssigned,
    ItemsSet,
    ListEntry,
    ListPublished,
    ListThresholds,
    RegisterOpened,
    TicketAttributed,
)
from domain.company_list import Register, RegisterError, period_dates
from domain.credit_code import credit_code_problem, normalise
from domain.errors import N_
from domain.operator import Operator


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: AwareDatetime
    by: Operator


class OpenRegister(_Command):
    street: str


class RegisterCompany(_Command):
    credit_code: str
    name: str = Field(min_length=1, max_length=100)
    exemption: str | None = None


class AssignEstate(_Command):
    estate: str
    community: str
    credit_code: str
    since: dt.date


class SetItems(_Command):
    items: tuple[AppraisalItem, ...] = Field(min_length=1, max_length=20)
    owner_weight: OwnerWeight = "headcount"


class ScheduleAppraisal(_Command):
    appraisal_id: str
    estate: str
    period: str


class AttributeTicket(_Command):
    ticket_id: str
    credit_code: str
    note: str = ""


class PublishList(_Command):
    period: str
    thresholds: ListThresholds
    entries: tuple[ListEntry, ...]


RegisterCommand = (OpenRegister | RegisterCompany | AssignEstate | SetItems | ScheduleAppraisal | AttributeTicket
                   | PublishList)


def decide(state: Register, command: RegisterCommand) -> list[CompanyEvent]:
    if isinstance(command, OpenRegister):
        return [] if state.street is not None else [RegisterOpened(at=command.at, by=command.by,
                                                                   street=command.street)]
    if state.street is None:
        raise RegisterError(N_("the street's register of property companies is not open yet"))
    match command:
        case RegisterCompany():
            return _register(state, command)
        case AssignEstate():
            state.company(command.credit_code)
            current = state.estates.get(command.estate)
            if current is not None and (current.credit_code, current.since) == (command.credit_code, command.since):
                return []
            return [EstateAssigned(at=command.at, by=command.by, estate=command.estate, community=command.community,
                                   credit_code=command.credit_code, since=command.since)]
        case SetItems():
            if len({i.item_id for i in command.items}) != len(command.items):
                raise RegisterError(N_("an appraisal item is listed twice"))
            return [ItemsSet(at=command.at, by=command.by, items=command.items, owner_weight=command.owner_weight)]
        case ScheduleAppraisal():
            return _schedule(state, command)
        case AttributeTicket():
            state.company(command.credit_code)
            if command.ticket_id in state.attributions:
                return []
            return [TicketAttributed(at=command.at, by=command.by, ticket_id=command.ticket_id,
                                     credit_code=command.credit_code, note=command.note)]
        case PublishList():
            period_dates(command.period)
            return [ListPublished(at=command.at, by=command.by, period=command.period,
                                  thresholds=command.thresholds, entries=command.entries)]
    raise TypeError(f"not a register command: {command!r}")


def _register(state: Register, c: RegisterCompany) -> list[CompanyEvent]:
    code = normalise(c.credit_code)
    problem = credit_code_problem(code)
    if problem is not None and not (c.exemption and len(code) == 18):
        raise RegisterError(N_("%(problem)s (an early pilot registry's code may be recorded with the reason)"),
                            problem=problem)
    exemption = c.exemption if problem is not None else None
    current = state.companies.get(code)
    if current is not None and current.name == c.name:
        return []
    return [CompanyRegistered(at=c.at, by=c.by, company=CompanyRef(credit_code=code, name=c.name),
                              exemption=exemption)]


def _schedule(state: Register, c: ScheduleAppraisal) -> list[CompanyEvent]:
    period_dates(c.period)
    estate = state.estates.get(c.estate)
    if estate is None:
        raise RegisterError(N_("the street office has not recorded which company manages '%(estate)s'; ask it to "
                               "record it first"), estate=c.estate)
    if not state.items:
        raise RegisterError(N_("the street office has not set the appraisal items and weights yet"))
    if c.appraisal_id in state.appraisals:
        return []
    return [AppraisalScheduled(at=c.at, by=c.by, appraisal_id=c.appraisal_id, estate=c.estate,
                               community=estate.community, credit_code=estate.credit_code, period=c.period)]
