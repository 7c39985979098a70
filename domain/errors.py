"""Errors of the legal core, as message ids and parameters (the domain does no translating).

Every error says what went wrong and what to do next. It carries a :class:`Text`: an English msgid with
``%(name)s`` fields (marked with :func:`N_` so ``pybabel extract`` finds it) and the fields' values. The web and
the CLI translate it into the reader's language (``yishi.i18n``: ``translator(lang).error(exc)``); ``str(error)``
is the English text, for logs. Errors about a file carry a list of :class:`Issue`, one per problem, each naming
the file and the row as Excel shows it (the header is row 1).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

Lang = Literal["zh", "en"]


def N_(msgid: str) -> str:  # noqa: N802 - the gettext marker convention
    """Mark ``msgid`` for extraction; it is translated where it is shown. Returns it unchanged."""
    return msgid


class Items(tuple):
    """A list inside a message, joined the reader's way (“a、b” in Chinese, “a, b” in English)."""

    def __str__(self) -> str:
        return ", ".join(str(item) for item in self)


class Label:
    """A code inside a message (a role, a stage, a status): shown as its label in the reader's language
    (the one table in yishi/i18n/labels.py); ``scope`` picks a procedure's own label where a code means two things.
    """

    __slots__ = ("context", "code", "scope")

    def __init__(self, context: str, code: str, scope: str | None = None) -> None:
        self.context, self.code, self.scope = context, code, scope

    def __str__(self) -> str:
        return self.code

    def __repr__(self) -> str:
        return f"Label({self.context!r}, {self.code!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Label) and (self.context, self.code, self.scope) == (
            other.context, other.code, other.scope)

    def __hash__(self) -> int:
        return hash((self.context, self.code))


class Bilingual:
    """A field that is data recorded in both languages (a task's title, a notice's text): English for English
    readers, the Chinese for everyone else (Chinese is the fallback of every other catalog)."""

    __slots__ = ("zh", "en")

    def __init__(self, zh: str, en: str) -> None:
        self.zh, self.en = zh, en

    def __str__(self) -> str:
        return self.en

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bilingual) and (self.zh, self.en) == (other.zh, other.en)

    def __hash__(self) -> int:
        return hash((self.zh, self.en))


class Text:
    """A message id and its fields: the English text as ``str()``, translated where it is shown.

    A field may itself be a :class:`Text` (a piece worded differently per language), :class:`Items`, a
    :class:`Label` or :class:`Bilingual` data.
    ``wire()`` and ``from_wire()`` carry it as JSON (in a workflow failure's details).
    """

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, /, **params: Any) -> None:
        self.msgid = msgid
        self.params = params

    def __str__(self) -> str:
        return self.msgid % {name: str(value) for name, value in self.params.items()}

    def __repr__(self) -> str:
        return f"Text({self.msgid!r}, {self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Text) and (self.msgid, self.params) == (other.msgid, other.params)

    def __hash__(self) -> int:
        return hash(self.msgid)

    def wire(self) -> dict[str, Any]:
        return {"msgid": self.msgid, "params": {name: _wire(value) for name, value in self.params.items()}}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Text:
        return cls(data["msgid"], **{name: _unwire(value) for name, value in data.get("params", {}).items()})


def _wire(value: Any) -> Any:
    if isinstance(value, Text):
        return {"text": value.wire()}
    if isinstance(value, Items):
        return {"items": [_wire(item) for item in value]}
    if isinstance(value, Label):
        return {"label": [value.context, value.code, value.scope]}
    if isinstance(value, Bilingual):
        return {"bilingual": [value.zh, value.en]}
    return value if isinstance(value, int | float | bool) or value is None else str(value)


def _unwire(value: Any) -> Any:
    if isinstance(value, dict) and "text" in value:
        return Text.from_wire(value["text"])
    if isinstance(value, dict) and "items" in value:
        return Items(_unwire(item) for item in value["items"])
    if isinstance(value, dict) and "label" in value:
        return Label(*value["label"])
    if isinstance(value, dict) and "bilingual" in value:
        return Bilingual(*value["bilingual"])
    return value


def _text_in(value: Any) -> Any:
    return Text.from_wire(value) if isinstance(value, dict) else value


WiredText = Annotated[Text, BeforeValidator(_text_in), PlainSerializer(lambda text: text.wire())]
"""A :class:`Text` field of a model: dumped as its wire form (JSON-safe), read back from it."""


class Issue(BaseModel):
    """One problem found in an imported file: where, and the :class:`Text` of what to do."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    file: str
    row: int | None = None
    column: str | None = None
    code: str
    severity: Literal["error", "warning"] = "error"
    text: WiredText

    def __str__(self) -> str:
        return str(issue_text(self))


def issue_text(issue: Issue) -> Text:
    """The issue with its file/row/column prefix, as one message."""
    if issue.row and issue.column:
        return Text(N_("%(file)s, row %(row)s, column %(column)s: %(text)s"), file=issue.file, row=issue.row,
                    column=issue.column, text=issue.text)
    if issue.row:
        return Text(N_("%(file)s, row %(row)s: %(text)s"), file=issue.file, row=issue.row, text=issue.text)
    if issue.column:
        return Text(N_("%(file)s, column %(column)s: %(text)s"), file=issue.file, column=issue.column,
                    text=issue.text)
    return Text(N_("%(file)s: %(text)s"), file=issue.file, text=issue.text)


class DomainError(Exception):
    """Base of every error raised by ``domain``: ``DomainError(N_("… %(x)s …"), x=…)``; says what to do."""

    def __init__(self, msgid: str | Text, /, **params: Any) -> None:
        self.text = msgid if isinstance(msgid, Text) else Text(msgid, **params)
        super().__init__(str(self.text))

    @property
    def texts(self) -> list[Text]:
        """The message as lines (one per issue for a file's errors)."""
        return [self.text]


MAX_LISTED_ISSUES = 50
"""Problems of one file listed by name; the rest are counted (a file of 100,000 bad rows is not a page of
100,000 lines: the first 50 show what is wrong, and fixing them shows the next)."""


def unlisted_issues(file: str, count: int, severity: Literal["error", "warning"] = "error") -> Issue:
    """The line that stands for ``count`` problems not listed."""
    if severity == "warning":
        return Issue(file=file, code="more-warnings", severity="warning",
                     text=Text(N_("and %(count)s more notes not listed"), count=f"{count:,}"))
    return Issue(file=file, code="more-issues",
                 text=Text(N_("and %(count)s more problems not listed; fix those above and import again to see the "
                              "rest"), count=f"{count:,}"))


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
        super().__init__(issue_text(self.issues[0]) if self.issues else Text(N_("the file has errors")))
        self.args = ("\n".join(str(issue) for issue in self.issues),)

    @property
    def texts(self) -> list[Text]:
        return [issue_text(issue) for issue in self.issues]


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
