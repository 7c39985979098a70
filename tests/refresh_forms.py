"""A page that reloads itself (the ``data-reload-every`` marker of templates/_auto_reload.html, or a
``<meta http-equiv="refresh">`` should one come back: "preparing", "issuing links", "starting") must carry
no form a person fills in: the reload would throw away a chosen file, a typed note or a picked outcome (issue 21).
A form of hidden fields and a button (sign out, print the sheets) loses nothing and is allowed. Every HTML page the
tests render is scanned (tests/conftest.py, beside the raw-code scan)."""

from __future__ import annotations

from html.parser import HTMLParser

KEPT = {"hidden", "submit", "button", "reset", "image"}


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refreshes = False
        self.depth = 0
        self.filled: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if "data-reload-every" in names or (tag == "meta" and (names.get("http-equiv") or "").lower() == "refresh"):
            self.refreshes = True
        if tag == "form":
            self.depth += 1
        elif self.depth and (tag in ("select", "textarea")
                             or (tag == "input" and (names.get("type") or "text").lower() not in KEPT)):
            self.filled.append(f"<{tag} name={names.get('name')!r} type={names.get('type')!r}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.depth:
            self.depth -= 1


def fillable_on_refresh(html: str) -> list[str]:
    """The fields a person fills in on a page that reloads itself (none is the rule)."""
    parser = _Forms()
    parser.feed(html)
    return parser.filled if parser.refreshes else []
