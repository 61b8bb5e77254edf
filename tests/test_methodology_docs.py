"""Citations of the methodology point at pages and headings that exist (issue 16, item 5).

The methodology lives in ``docs/methodology/`` (one page per index and a few cross-cutting
pages). Code, definition files, generated docs and tests cite it as
``docs/methodology/<page>.md#<anchor>``; the anchor is the GitHub one of a heading of that
page. These tests fail when a file in src/, tests/ or docs/ still cites the team's former
private reference file, or cites a page or an anchor that does not exist; links between
the methodology pages themselves are checked the same way.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
METHODOLOGY = ROOT / "docs" / "methodology"
SCANNED = ("src", "tests", "docs")
#: The former reference file, spelled so that this test does not cite it itself.
FORMER = "METHODOLOGIES" + ".md"
#: A page of docs/methodology (its file name) with an optional anchor (letters, digits, _ and -).
CITATION = re.compile(r"docs/methodology/(?P<page>[\w.-]+\.md)(?:#(?P<anchor>[\w-]+))?")
#: A Markdown link target inside a methodology page: ``](target)``.
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: inline markup dropped, lower case, every
    character other than a letter, mark, number, connector, space or hyphen removed, and
    spaces turned into hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.strip().lower()
    kept = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in " -" or cat[0] in "LMN" or cat == "Pc":
            kept.append(ch)
    return "".join(kept).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a Markdown page, numbered like GitHub's duplicates (-1, -2)."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    fence: str | None = None
    for line in page.read_text(encoding="utf-8").splitlines():
        stripped = line.lstrip()
        marker = re.match(r"(```+|~~~+)", stripped)
        if marker:
            if fence is None:
                fence = marker.group(1)[0] * 3
            elif stripped.startswith(fence):
                fence = None
            continue
        if fence is not None:
            continue
        m = re.match(r" {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$", line)
        if not m:
            continue
        base = slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def scanned_files() -> list[Path]:
    files = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            try:
                path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue  # images and other binary files
            files.append(path)
    return files


def _where(path: Path, text: str, pos: int) -> str:
    return f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, pos) + 1}"


def test_slug_follows_github():
    assert slug("On-time settlement (2.1)") == "on-time-settlement-21"
    assert slug("766: Bac Ninh, late 2025") == "766-bac-ninh-late-2025"
    assert slug("Decision 405/QĐ-BKHCN (2025)") == "decision-405qđ-bkhcn-2025"
    assert slug("Online public services (CLGQ)") == "online-public-services-clgq"
    assert slug("`rank_tolerance` and [links](x.md)") == "rank_tolerance-and-links"


def test_anchors_number_duplicates(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# Title\n## Sources\n```\n# not a heading\n```\n## Sources\n", encoding="utf-8")
    assert anchors(page) == {"title", "sources", "sources-1"}


def test_the_methodology_has_its_pages():
    pages = {p.name for p in METHODOLOGY.glob("*.md")}
    assert {"README.md", "766.md", "dti.md", "par-index.md", "sipas.md", "pii.md"} <= pages
    readme = (METHODOLOGY / "README.md").read_text(encoding="utf-8")
    for page in sorted(pages - {"README.md"}):
        assert f"]({page})" in readme, f"docs/methodology/README.md does not list {page}"


def test_no_file_cites_the_former_reference():
    found = [
        _where(path, text, m.start())
        for path in scanned_files()
        for text in [path.read_text(encoding="utf-8")]
        for m in re.finditer(re.escape(FORMER), text, flags=re.IGNORECASE)
    ]
    assert not found, (f"{FORMER} is not in the repository; cite docs/methodology/<page>.md#<anchor> "
                       "instead:\n" + "\n".join(found))


def test_every_methodology_citation_resolves():
    cache: dict[str, set[str] | None] = {}
    bad = []
    count = 0
    for path in scanned_files():
        text = path.read_text(encoding="utf-8")
        for m in CITATION.finditer(text):
            count += 1
            page, anchor = m.group("page"), m.group("anchor")
            if page not in cache:
                target = METHODOLOGY / page
                cache[page] = anchors(target) if target.is_file() else None
            if cache[page] is None:
                bad.append(f"{_where(path, text, m.start())}: no page docs/methodology/{page}")
            elif anchor is not None and anchor not in cache[page]:
                bad.append(f"{_where(path, text, m.start())}: no heading #{anchor} in docs/methodology/{page}")
    assert count > 0, "nothing cites docs/methodology: is the pattern right?"
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("page", sorted(METHODOLOGY.glob("*.md")), ids=lambda p: p.name)
def test_links_between_methodology_pages_resolve(page):
    text = page.read_text(encoding="utf-8")
    bad = []
    for m in LINK.finditer(text):
        target = m.group("target")
        if re.match(r"[a-z]+:", target):
            continue  # an outside address
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            bad.append(f"{_where(page, text, m.start())}: no file {target}")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{_where(page, text, m.start())}: no heading #{anchor} in {file_part or page.name}")
    assert not bad, "\n".join(bad)
