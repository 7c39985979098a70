"""What users read, in their language: gettext catalogs (Babel) for every text, Chinese (zh_CN) first.

- ``translator(lang)``: a language's :class:`Translator` (``gettext``/``ngettext``/``pgettext`` with ``%(name)s``
  fields, ``label`` for codes, ``when``/``number`` for dates and numbers, ``error`` for domain errors).
- ``pick_lang``: a request's language from ``?lang=``, the ``lang`` cookie and the default.
- ``bilingual``: a message in Chinese and English, for records that keep both (notices, task titles).
- ``configure``: the languages (Babel locales) and extra catalog folders, from the settings.

msgids are English; ``yishi/locale/zh_CN/LC_MESSAGES/messages.po`` holds the Chinese. The translator's workflow
(extract, update, translate, add a language) is in docs/i18n.md; ``yishi i18n`` runs its steps.
"""

from __future__ import annotations

from domain.errors import N_, Items, Label, Text
from yishi.i18n.catalogs import Language, configure, language, languages
from yishi.i18n.core import (
    Translator,
    bilingual,
    bilingual_error,
    both,
    calendar_fallback,
    pick_lang,
    translator,
)
from yishi.i18n.labels import C_, LABELS, has_label

Lang = str
LANG_COOKIE = "lang"

__all__ = ["C_", "LABELS", "LANG_COOKIE", "Label", "N_", "Items", "Lang", "Language", "Text", "Translator",
           "bilingual", "bilingual_error", "both", "calendar_fallback", "configure", "has_label", "language",
           "languages", "pick_lang", "translator"]
