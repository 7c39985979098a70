"""Ballots and proxy authorisations from CSV (or XLSX) bytes, e.g. paper ballots typed in by the committee.

Ballots: columns ``owner_id, choice`` (required) and ``channel, cast_at, cast_by, paper_ref`` (optional).
``choice`` is ``for|against|abstain`` (同意/赞成, 反对, 弃权 also read); ``channel`` is ``online|paper``
(线上, 纸质/书面 also read), default ``online``; ``cast_at`` is ISO 8601, Beijing time when it has no
offset, and may be empty (then the file order decides, see :mod:`domain.ballots`).

Proxies: columns ``owner_id, proxy_owner_id, authorised_at`` and optional ``revoked_at``.
"""

from __future__ import annotations

from datetime import datetime

from domain.ballots import Ballot, ProxyRecord
from domain.errors import N_, BallotFileError, Issue, Text
from domain.filelimits import DEFAULT_LIMITS, FileLimits
from domain.legal_calendar import BEIJING
from domain.tabular import read_table

CHOICE_WORDS = {
    "for": "for", "同意": "for", "赞成": "for",
    "against": "against", "反对": "against",
    "abstain": "abstain", "弃权": "abstain",
}  # fmt: skip
CHANNEL_WORDS = {
    "": "online",
    "online": "online",
    "线上": "online",
    "paper": "paper",
    "纸质": "paper",
    "书面": "paper",
}


def parse_instant(text: str) -> datetime:
    """ISO 8601; a time without offset is Beijing time. Raises ValueError."""
    value = datetime.fromisoformat(text.strip())
    return value if value.tzinfo is not None else value.replace(tzinfo=BEIJING)


def _issue(filename: str, row: int, column: str, text: Text) -> Issue:
    return Issue(file=filename, row=row, column=column, code=f"bad-{column}", text=text)


def _instant(filename: str, row: int, column: str, text: str, issues: list[Issue]) -> datetime | None:
    if not text:
        return None
    try:
        return parse_instant(text)
    except ValueError:
        issues.append(
            _issue(
                filename, row, column,
                Text(N_("cannot read time '%(text)s'; write 2025-10-01T09:30:00+08:00 or 2025-10-01 09:30"), text=text),
            )
        )  # fmt: skip
        return None


def parse_ballots(data: bytes, filename: str, limits: FileLimits = DEFAULT_LIMITS) -> list[Ballot]:
    """Ballots in file order; :class:`BallotFileError` lists the bad rows (the first 50, then a count)."""
    optional = ("channel", "cast_at", "cast_by", "paper_ref")
    table = read_table(data, filename, ("owner_id", "choice"), optional, BallotFileError, limits=limits)
    ballots = []
    for row, cells in table.rows:
        issues: list[Issue] = []
        ballots.append(_ballot_row(filename, row, cells, issues))
        table.issues.extend(issues)
    table.issues.raise_if_any(BallotFileError)
    return [ballot for ballot in ballots if ballot is not None]


def _ballot_row(filename: str, row: int, cells: dict[str, str], issues: list[Issue]) -> Ballot | None:
    before = len(issues)
    choice = CHOICE_WORDS.get(cells["choice"].lower())
    channel = CHANNEL_WORDS.get(cells.get("channel", "").lower())
    if not cells["owner_id"]:
        issues.append(_issue(filename, row, "owner_id", Text(N_("owner_id is empty"))))
    if choice is None:
        issues.append(
            _issue(filename, row, "choice", Text(N_("choice '%(choice)s' is invalid; use for, against or abstain"),
            choice=cells['choice']))
        )  # fmt: skip
    if channel is None:
        issues.append(
            _issue(filename, row, "channel", Text(N_("channel '%(channel)s' is invalid; use online or paper"),
            channel=cells['channel']))
        )  # fmt: skip
    cast_at = _instant(filename, row, "cast_at", cells.get("cast_at", ""), issues)
    if len(issues) > before:
        return None
    return Ballot(
        owner_id=cells["owner_id"],
        choice=choice,  # type: ignore[arg-type]
        channel=channel,  # type: ignore[arg-type]
        cast_at=cast_at,
        cast_by=cells.get("cast_by") or None,
        paper_ref=cells.get("paper_ref") or None,
    )


def parse_proxies(data: bytes, filename: str, limits: FileLimits = DEFAULT_LIMITS) -> list[ProxyRecord]:
    """Authorisation (and revocation) records; :class:`BallotFileError` lists the bad rows (the first 50, then a
    count)."""
    required = ("owner_id", "proxy_owner_id", "authorised_at")
    table = read_table(data, filename, required, ("revoked_at",), BallotFileError, limits=limits)
    records: list[ProxyRecord] = []
    for row, cells in table.rows:
        issues: list[Issue] = []
        for column in required:
            if not cells[column]:
                issues.append(_issue(filename, row, column, Text(N_("%(column)s is empty"), column=column)))
        start = _instant(filename, row, "authorised_at", cells["authorised_at"], issues)
        end = _instant(filename, row, "revoked_at", cells.get("revoked_at", ""), issues)
        table.issues.extend(issues)
        if issues or start is None:
            continue
        pair = {"owner_id": cells["owner_id"], "proxy_owner_id": cells["proxy_owner_id"]}
        records.append(ProxyRecord(kind="authorise", at=start, **pair))
        if end is not None:
            records.append(ProxyRecord(kind="revoke", at=end, **pair))
    table.issues.raise_if_any(BallotFileError)
    return records
