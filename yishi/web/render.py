"""Rendering pages: Jinja templates with the page language, and the error pages every route shares."""

from __future__ import annotations

import functools
import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from importlib import resources
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
from yishi.i18n import N_, labels


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("yishi.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the package; no stat() per render (docs/benchmarks.md)
        extensions=["jinja2.ext.i18n"],
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


_environments: dict[str, Environment] = {}


@functools.cache
def css_url() -> str:
    """The stylesheet's address with its content's digest: a browser keeps it a year (``static_files``) and asks
    again only when a release changes it."""
    css = (resources.files("yishi.web") / "static" / "yishi.css").read_bytes()
    return "/static/yishi.css?v=" + hashlib.sha256(css).hexdigest()[:12]


def environment(lang: str) -> Environment:
    """The templates in one language: Jinja's i18n extension with that language's newstyle gettext callables
    (``_``, ``gettext``, ``ngettext``, ``pgettext``, ``npgettext``: fields escaped by autoescape), the ``label``
    filter for codes, ``when`` and ``area`` in its formats. One environment per language (each compiles the
    templates once), made on first use; the callables are installed once, never swapped per request."""
    env = _environments.get(lang)
    if env is None:
        tr = i18n.translator(lang)
        env = _environment()
        env.install_gettext_callables(  # type: ignore[attr-defined]
            tr.gettext_raw, tr.ngettext_raw, newstyle=True, pgettext=tr.pgettext_raw, npgettext=tr.npgettext_raw)
        env.globals.update(css_url=css_url(), when=_when(tr), date=tr.date, area=tr.number, number=tr.number,
                           lang_tag=tr.language.tag, percent=percent, bilingual=i18n.bilingual,
                           bar_width=bar_width, fraction=fraction_str, calendar_fallback=tr.calendar_fallback)
        env.filters["label"] = tr.label
        env.filters["error"] = tr.error
        env.filters["orgs_named"] = functools.partial(labels.orgs_named, tr)
        _environments[lang] = env
    return env


def _when(tr: i18n.Translator) -> Callable[..., str]:
    def when(instant: Any, lang: str | None = None) -> str:
        """An instant in the page's language (``lang`` only for a page that prints another beside it)."""
        return (tr if lang is None else i18n.translator(lang)).when(instant)

    return when


i18n.catalogs.on_configure(_environments.clear)


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


def page_translator(request: Request) -> i18n.Translator:
    """The translator of the request's language."""
    return i18n.translator(page_lang(request))


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
    switch links. Without one (no route matched) a link is the query alone, ``?lang=…``: a reference that
    keeps this page's scheme, host and path (RFC 3986 5.2.2), so it cannot lead to another site."""

    def switch_url(code: str) -> str:
        query = urlencode({**request.query_params, "lang": code})
        return f"{path}?{query}" if path is not None and local_path(path) else f"?{query}"

    return environment(lang).get_template(template).render(
        lang=lang,
        other_languages=[language for language in i18n.languages() if language.code != lang],
        switch_url=switch_url,
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
    chosen = request.query_params.get("lang")
    if chosen is not None and chosen in {language.code for language in i18n.languages()}:
        response.set_cookie(i18n.LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax",
                            httponly=True, secure=request.url.scheme == "https")
    if no_store:
        # Pages with a personal form: never cached, and the back button reloads a fresh nonce.
        response.headers["Cache-Control"] = "no-store"
    return response


def message_page(request: Request, status: int, title: str, body: str | None = None, *, text: str | None = None,
                 back_label: str | None = None, **fields: Any) -> HTMLResponse:
    """A page that says what happened and what to do next.

    ``title``, ``body`` and ``back_label`` are msgids (marked ``N_``), translated here with ``fields``; ``text``
    is a body already in the page's language (a domain error's message, say). Other keyword arguments
    (``back_url``) go to the template.
    """
    tr = page_translator(request)
    context = {key: fields.pop(key) for key in ("back_url", "subtitle", "refresh") if key in fields}
    shown = text if text is not None else (tr.gettext(body, **fields) if body else "")
    return render(request, "message.html", status, no_store=True, title=tr.gettext(title), body=shown,
                  back_label=tr.gettext(back_label) if back_label else None, **context)


def form_invalid_page(request: Request, status: int = 422, **fields: Any) -> HTMLResponse:
    return message_page(request, status, N_("The form is not valid"), N_(
        "The form was incomplete or expired; nothing was recorded. Open the page again and resubmit."), **fields)


def not_found_page(request: Request) -> HTMLResponse:
    return message_page(request, 404, N_("Page not found"))


def link_invalid_page(request: Request, status: int) -> HTMLResponse:
    return message_page(request, status, N_("This link is not valid"), N_(
        "This voting link is not recognised. Check that it is complete, or contact the committee or your grid "
        "worker for your link."))


def link_revoked_page(request: Request, status: int) -> HTMLResponse:
    return message_page(request, status, N_("This link was replaced"), N_(
        "This link is no longer valid: the committee issued a new one. Contact the committee or your grid worker "
        "to get it."))


def workflow_busy(request: Request) -> HTMLResponse:
    """Temporal cannot be reached for an act on a workflow: nothing was changed."""
    return message_page(request, 503, N_("Service busy"), N_(
        "The workflow service cannot be reached; nothing was changed. Try again shortly."))
