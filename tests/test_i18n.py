"""Every user-facing string is in the catalogues, translated into Vietnamese, and compiled."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from chiso import i18n

ROOT = Path(__file__).parents[1]
LOCALE = ROOT / "src" / "chiso" / "locale"
FIX = "run scripts/i18n.sh, translate the new entries in vi/LC_MESSAGES/chiso.po, run it again"


def _msgid(m):
    return m.id if isinstance(m.id, str) else m.id[0]


def _catalog(lang: str, kind: str):
    path = LOCALE / lang / "LC_MESSAGES" / f"chiso.{kind}"
    with path.open("rb") as f:
        return read_po(f) if kind == "po" else read_mo(f)


def test_every_message_in_the_code_is_in_the_catalogues():
    in_code = {
        msg[2] if isinstance(msg[2], str) else msg[2][0]
        for msg in extract_from_dir(
            str(ROOT / "src" / "chiso"), method_map=[("**.py", "python"), ("web/templates/**.html", "jinja2")],
            options_map={"web/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
            keywords={"_": None, "ngettext": (1, 2), "gettext": None},
        )
    }
    for lang in i18n.LANGUAGES:
        known = {_msgid(m) for m in _catalog(lang, "po") if m.id}
        assert in_code <= known, f"{lang}: missing {sorted(in_code - known)[:5]}; {FIX}"


def test_every_message_has_a_vietnamese_translation():
    untranslated = [_msgid(m) for m in _catalog("vi", "po") if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
    assert not untranslated, f"untranslated: {untranslated[:5]}; {FIX}"


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_compiled_catalogues_match_their_sources(lang):
    po = {_msgid(m): m.string for m in _catalog(lang, "po") if m.id}
    mo = {_msgid(m): m.string for m in _catalog(lang, "mo") if m.id}
    assert {k: v for k, v in po.items() if v} == {k: v for k, v in mo.items() if v}, FIX


def test_vietnamese_is_the_default_and_english_available(monkeypatch):
    msg = "Unknown unit code: {code}"
    monkeypatch.delenv("CHISO_LANG", raising=False)
    assert i18n._(msg).startswith("Không có mã đơn vị")
    monkeypatch.setenv("CHISO_LANG", "en")
    assert i18n._(msg) == msg
    monkeypatch.setenv("CHISO_LANG", "xx")
    assert i18n.current_language() == "vi"
