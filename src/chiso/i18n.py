"""Translations of every user-facing string (gettext catalogues managed with Babel).

Message ids are English; Vietnamese is the default language (setting ``lang``). The
catalogues live in ``chiso/locale/<lang>/LC_MESSAGES/chiso.po`` and are compiled to ``.mo``
by ``scripts/i18n.sh`` (a test fails when a compiled catalogue is older than its source).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from gettext import GNUTranslations, NullTranslations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

# A web request speaks its reader's language, whatever the setting says; one variable per
# request context, so concurrent requests in two languages do not mix.
_request_language: ContextVar[str | None] = ContextVar("chiso_language", default=None)


@lru_cache(maxsize=None)
def translations(lang: str) -> NullTranslations:
    if lang not in LANGUAGES:
        lang = DEFAULT_LANGUAGE
    # The standard library reads the .mo files Babel compiles; importing babel.support
    # would cost every command a fifth of its start-up.
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "chiso.mo"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as fh:
        return GNUTranslations(fh)


def current_language() -> str:
    from chiso import settings

    lang = _request_language.get() or settings.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


@contextmanager
def use_language(lang: str | None) -> Iterator[str]:
    """Speak ``lang`` (when it is one of LANGUAGES) inside the block, e.g. for one request."""
    token = _request_language.set(lang if lang in LANGUAGES else None)
    try:
        yield current_language()
    finally:
        _request_language.reset(token)


def _(message: str) -> str:
    """Translate ``message`` into the language in force."""
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language()).ngettext(singular, plural, n)
