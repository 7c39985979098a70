"""Codes that must never reach a page as visible text: roles, outcomes, stages, statuses, levels, categories,
task kinds and ids (``feasibility-1``), procedure ids, and the ids of organisations and people
(``dept:urban``, ``grid:xfl:g01``, ``committee:xfl``, ``street:…``, ``secretary:…``, ``hotline:…``, ``owner:o001``,
``person:…``, ``org:…``, ``community:…``): a page shows their names. Every HTML page the web tests render is scanned
(tests/conftest.py patches the one place pages become responses); a page in Chinese may show none of them, a
page in English none with an underscore or a task id's shape (plain words such as "approved" are English
there). A run of plain English words (a tool's own text, an English name) is prose, not a code. Codes inside
attributes, ``<code>`` and elements marked ``translate="no"`` (HTML's own mark for what is not to be translated:
a person's name, a deliberate technical name) are not visible text in this sense."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from domain.escalation import OWNING_ROLES
from yishi.i18n.labels import LABELS
from yishi.services.accounts import ROLES

CONTEXTS = ("role", "outcome", "stage", "status", "level", "category", "task", "procedure", "choice", "answer",
            "action")
CODES = frozenset(
    code for context in CONTEXTS for code in LABELS[context] if ":" not in code and not code.isupper()
) | frozenset(ROLES) | frozenset(OWNING_ROLES)
TASK_ID = re.compile(r"\b(?:" + "|".join(sorted(LABELS["task"], key=len, reverse=True)) + r")-\d+\b")
ID_PREFIXES = ("dept", "grid", "org", "community", "committee", "street", "secretary", "hotline", "owner", "person")
ORG_ID = re.compile(r"(?<![\w/.:=-])(?:" + "|".join(ID_PREFIXES) + r"):[\w.-]+", re.IGNORECASE)
WORD = re.compile(r"(?<![\w/.:=-])[A-Za-z_]+(?![\w/.:=-])")  # a word on its own, not part of an id, path or URL
PROSE_RUN = re.compile(r"[A-Za-z][A-Za-z ]*[A-Za-z]")
SKIPPED = {"script", "style", "code"}


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = ""
        self.stack: list[tuple[str, bool]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "html":
            self.lang = names.get("lang") or ""
        if tag in ("br", "img", "input", "meta", "link", "hr", "source"):
            return
        hidden = tag in SKIPPED or names.get("translate") == "no" or any(hidden for _, hidden in self.stack)
        self.stack.append((tag, hidden))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        if not any(hidden for _, hidden in self.stack):
            self.text.append(data)


def raw_codes(html: str) -> list[str]:
    """The codes shown as visible text on the page, each with the text around it, in the order they appear."""
    parser = _Visible()
    parser.feed(html)
    chinese = not parser.lang.startswith("en")
    found = []
    for chunk in parser.text:
        where = " ".join(chunk.split())[:60]
        found += [f"{task} in {where!r}" for task in TASK_ID.findall(chunk)]
        found += [f"{org} in {where!r}" for org in ORG_ID.findall(chunk)]
        prose = [run.span() for run in PROSE_RUN.finditer(chunk) if len(run.group().split()) > 1]
        for match in WORD.finditer(chunk):
            word = match.group()
            if word not in CODES or not (chinese or "_" in word):
                continue
            if "_" not in word and any(start <= match.start() < end for start, end in prose):
                continue  # English prose (a tool's own text, a name, a bilingual record): not a code
            found.append(f"{word} in {where!r}")
    return found
