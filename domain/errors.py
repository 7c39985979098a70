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


MAX_LISTED_ISSUES = 50
"""Problems of one file listed by name; the rest are counted (a file of 100,000 bad rows is not a page of
100,000 lines: the first 50 show what is wrong, and fixing them shows the next)."""


def unlisted_issues(file: str, count: int, severity: Literal["error", "warning"] = "error") -> Issue:
    """The line that stands for ``count`` problems not listed."""
    if severity == "warning":
        return Issue(file=file, code="more-warnings", severity="warning",
                     zh=f"另有 {count:,} 条提示未列出", en=f"and {count:,} more notes not listed")
    return Issue(file=file, code="more-issues",
                 zh=f"另有 {count:,} 处问题未列出；请先改正以上问题后重新导入，其余问题会在下次导入时列出",
                 en=f"and {count:,} more problems not listed; fix those above and import again to see the rest")


class FileIssuesError(DomainError):
    """A file could not be imported; ``issues`` lists the problems found, not just the first: at most
    :data:`MAX_LISTED_ISSUES` of them, then one line counting the others (``unlisted`` more, besides any in
    ``issues`` beyond the cap). ``total`` is how many problems there were."""

    def __init__(self, issues: list[Issue], unlisted: int = 0) -> None:
        listed = list(issues[:MAX_LISTED_ISSUES])
        unlisted += len(issues) - len(listed)
        self.total = len(listed) + unlisted
        if unlisted:
            listed.append(unlisted_issues(listed[0].file if listed else "", unlisted))
        self.issues = listed
        zh = "\n".join(issue.text("zh") for issue in self.issues)
        en = "\n".join(issue.text("en") for issue in self.issues)
        super().__init__(zh, en)


class IssueLog:
    """The problems (or notes) of one file as they are found: the first :data:`MAX_LISTED_ISSUES` kept, the
    others only counted, so that a hostile file cannot fill memory with its problems."""

    def __init__(self, severity: Literal["error", "warning"] = "error") -> None:
        self.listed: list[Issue] = []
        self.unlisted = 0
        self.severity: Literal["error", "warning"] = severity

    def __bool__(self) -> bool:
        return bool(self.listed)

    def __len__(self) -> int:
        return len(self.listed) + self.unlisted

    def add(self, issue: Issue) -> None:
        if len(self.listed) < MAX_LISTED_ISSUES:
            self.listed.append(issue)
        else:
            self.unlisted += 1

    def extend(self, issues: list[Issue]) -> None:
        for issue in issues:
            self.add(issue)

    def issues(self) -> tuple[Issue, ...]:
        """The listed issues, then one line counting the others (if any)."""
        if not self.unlisted:
            return tuple(self.listed)
        return (*self.listed, unlisted_issues(self.listed[0].file, self.unlisted, self.severity))

    def raise_if_any(self, error: type[FileIssuesError]) -> None:
        if self.listed:
            raise error(self.listed, self.unlisted)


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
