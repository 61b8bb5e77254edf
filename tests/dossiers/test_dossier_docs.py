"""The documentation of the record columns cannot drift from the schema."""

from __future__ import annotations

from pathlib import Path

from chiso.dossiers.schema import fields_markdown

DOC = Path(__file__).parents[2] / "docs" / "dossiers.md"


def test_column_tables_match_the_schema():
    text = DOC.read_text(encoding="utf-8")
    start = text.index("-->", text.index("<!-- fields:start")) + len("-->\n")
    end = text.index("<!-- fields:end -->")
    assert text[start:end].strip() == fields_markdown().strip(), (
        "docs/dossiers.md is out of date: paste chiso.dossiers.schema.fields_markdown() between the markers"
    )
