"""Rendering pages: Jinja templates with the page language, and the error pages every route shares."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import escape
from starlette.convertors import PathConvertor

from domain.numbers import decimal_str, fraction_str, percent, shown_percent
from domain.rules import Threshold
from yishi import i18n

TEMPLATES = Environment(
    loader=PackageLoader("yishi.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # templates ship with the package; no stat() per render (docs/benchmarks.md)
)


_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._~-]")


def safe_filename(text: str) -> str:
    """``text`` for a download's file name: anything but ASCII letters, digits and ``._~-`` becomes ``_``."""
    return _FILENAME_UNSAFE.sub("_", text)


def bar_width(value: Fraction | None, threshold: Threshold | None = None, full: int = 300) -> str:
    """The length of a bar of ``full`` units for ``value`` (capped at 1): the shown percentage scaled, so that a
    bar ends past its threshold's mark exactly when the figure beside it says so."""
    if value is None:
        return "0"
    shown = shown_percent(min(value, Fraction(1)), threshold) * full / 100
    return decimal_str(Decimal(shown.numerator) / Decimal(shown.denominator))


TEMPLATES.globals.update(when=i18n.when, area=i18n.area, choice_label=i18n.choice, percent=percent,
                         bar_width=bar_width, fraction=fraction_str, calendar_fallback=i18n.calendar_fallback)


def page_lang(request: Request) -> i18n.Lang:
    settings = request.app.state.settings
    return i18n.pick_lang(request.query_params.get("lang"), request.cookies.get(i18n.LANG_COOKIE),
                          settings.default_lang)


def route_path(request: Request) -> str | None:
    """The page's own path rebuilt from the route that matched it: the route's template with each path
    parameter percent-encoded (``/`` kept only inside a ``:path`` parameter). None when no route matched (a
    404) or the result would not be a plain local path.

    Never the raw request path: ``//evil.example/x`` (or ``/%2F%2Fevil.example``, ``/\\evil.example``) is a
    path the server answers 404 to, and as an ``href`` it is another site (issue 17)."""
    route = request.scope.get("route")
    template = getattr(route, "path_format", None)
    if not isinstance(template, str):
        return None
    path = template
    convertors = getattr(route, "param_convertors", {}) or {}
    for name, value in request.path_params.items():
        keep = "/" if isinstance(convertors.get(name), PathConvertor) else ""
        path = path.replace("{" + name + "}", quote(str(value), safe=keep))
    if "{" in path or not local_path(path):
        return None
    return path


def local_path(path: str) -> bool:
    """Whether ``path`` as an ``href`` stays on this site: one leading ``/``, not ``//`` or ``/\\``."""
    return path.startswith("/") and not path.startswith(("//", "/\\")) and not any(c in path for c in "\r\n\t")


def render(request: Request, template: str, status: int = 200, *, no_store: bool = False,
           switch_path: str | None = None, **context: Any) -> HTMLResponse:
    """Render ``template`` in the request's language; a ``?lang=`` choice is remembered in a cookie.

    ``switch_path``: the page the language switch shows again, when it is not this route's (a page answering a
    POST names the page to GET)."""
    lang = page_lang(request)
    path = switch_path if switch_path is not None else route_path(request)
    return respond(request, render_html(request, template, lang, path, **context), status, no_store=no_store)


def render_html(request: Request, template: str, lang: i18n.Lang, path: str | None, **context: Any) -> str:
    """The page's HTML in ``lang``; ``path`` is the page's own path (:func:`route_path`), for the language
    switch link. Without one (no route matched) the link is the query alone, ``?lang=…``: a reference that
    keeps this page's scheme, host and path (RFC 3986 5.2.2), so it cannot lead to another site."""
    other = "en" if lang == "zh" else "zh"
    query = urlencode({**request.query_params, "lang": other})
    return TEMPLATES.get_template(template).render(
        lang=lang,
        t=lambda key, **fields: i18n.t(key, lang, **fields),
        switch_url=f"{path}?{query}" if path is not None and local_path(path) else f"?{query}",
        request=request,
        **context,
    )


class Frames:
    """Pages rendered once with markers in place of their per-request values, then filled in.

    For a page served again and again with the same text around a few short values (the receipt: the same
    box, language and choice around a new code, seq, time and link): ``fill`` renders the template only
    for a new ``key`` (with the markers as the values) and otherwise replaces the markers in the stored
    frame with the escaped values. The template stays the page's one source.
    """

    def __init__(self, holes: tuple[str, ...], size: int = 256) -> None:
        self.markers = {name: f"\x00{name}\x00" for name in holes}
        self._frames: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self._size = size

    def fill(self, key: tuple[Any, ...], make: Callable[[dict[str, str]], str], values: dict[str, object]) -> str:
        frame = self._frames.get(key)
        if frame is None:
            frame = self._frames[key] = make(self.markers)
            while len(self._frames) > self._size:
                self._frames.popitem(last=False)
        for name, marker in self.markers.items():
            frame = frame.replace(marker, str(escape(str(values[name]))))
        return frame


def respond(request: Request, html: str, status: int = 200, *, no_store: bool = False) -> HTMLResponse:
    response = HTMLResponse(html, status_code=status)
    if (chosen := request.query_params.get("lang")) in i18n.LANGS:
        response.set_cookie(i18n.LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax",
                            httponly=True, secure=request.url.scheme == "https")
    if no_store:
        # Pages with a personal form: never cached, and the back button reloads a fresh nonce.
        response.headers["Cache-Control"] = "no-store"
    return response


def message_page(request: Request, status: int, title_key: str, body: str | None = None,
                 body_key: str | None = None, **context: Any) -> HTMLResponse:
    """A page that says what happened and what to do next."""
    lang = page_lang(request)
    text = body if body is not None else (i18n.t(body_key, lang, **context) if body_key else "")
    return render(request, "message.html", status, no_store=True, title=i18n.t(title_key, lang),
                  body=text, **context)
