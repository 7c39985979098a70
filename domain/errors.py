"""Errors of the legal core.

Every error carries a Chinese and an English message that tells a person what went wrong and what to do
next; ``str(error)`` gives both. Errors about a file carry a list of :class:`Issue`, one per problem, each
naming the file and the row as Excel shows it (the header is row 1).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Lang = Literal["zh", "en"]


class Issue(BaseModel):
    """One problem found in an imported file."""

    model_config = ConfigDict(frozen=True)

    file: str
    row: int | None = None
    column: str | None = None
    code: str
    severity: Literal["error", "warning"] = "error"
    zh: str
    en: str

    def text(self, lang: Lang = "zh") -> str:
        """The message with its file/row/column prefix, in one language."""
        if lang == "en":
            where = self.file + (f", row {self.row}" if self.row else "")
            where += f", column {self.column}" if self.column else ""
            return f"{where}: {self.en}"
        where = self.file + (f" 第{self.row}行" if self.row else "")
        where += f" {self.column}列" if self.column else ""
        return f"{where}：{self.zh}"


class DomainError(Exception):
    """Base of every error raised by ``domain``; the message says what to do."""

    def __init__(self, zh: str, en: str) -> None:
        self.zh = zh
        self.en = en
        super().__init__(f"{zh} / {en}")

    def message(self, lang: Lang = "zh") -> str:
        return self.en if lang == "en" else self.zh


class FileIssuesError(DomainError):
    """A file could not be imported; ``issues`` lists every problem found, not just the first."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = list(issues)
        zh = "\n".join(issue.text("zh") for issue in self.issues)
        en = "\n".join(issue.text("en") for issue in self.issues)
        super().__init__(zh, en)


class RollError(FileIssuesError):
    """The owners roll (业主名册) has errors."""


class BallotFileError(FileIssuesError):
    """A ballots or proxies file has errors."""


class RuleNotFoundError(DomainError):
    """No decision rule has this id."""


class ScopeError(DomainError):
    """A scope string or selection does not match the roll."""


class CalendarError(DomainError):
    """A period cannot be computed (bad length or a bad holiday file)."""


class HolidayFileError(CalendarError):
    """The operator's holiday file cannot be read."""


class StaleStateError(DomainError):
    """A state was used after ``evolve`` consumed it."""


class BoxError(DomainError):
    """A ballot-box command was refused."""


class BoxNotOpenError(BoxError):
    pass


class BoxAlreadyOpenError(BoxError):
    pass


class BoxClosedError(BoxError):
    pass


class BoxStillOpenError(BoxError):
    pass


class VotingNotStartedError(BoxError):
    pass


class NotOnRollError(BoxError):
    pass


class NotInScopeError(NotOnRollError):
    """The owner is on the roll but holds no room in this deliberation's scope."""


class UnknownQuestionError(BoxError):
    pass


class InvalidChoiceError(BoxError):
    pass


class PaperBallotDateError(BoxError):
    """A paper ballot's fill-in time lies outside the voting period; check the date on the sheet."""


class BallotNotChangeableError(BoxError):
    pass


class IdempotencyConflictError(BoxError):
    pass


class ProxyNotAuthorisedError(BoxError):
    pass


class ProxyLimitError(BoxError):
    pass


class RollDigestMismatchError(BoxError):
    pass


class DeemingSettingsError(BoxError):
    """``deem_over_half`` was asked for without ``deem_silent`` (it only refines deeming)."""


class UnknownEventError(DomainError):
    pass
