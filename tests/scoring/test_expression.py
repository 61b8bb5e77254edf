"""The group-formula evaluator accepts arithmetic with min/max and nothing else."""

from __future__ import annotations

import pytest

from chiso.scoring.expression import ExpressionError, compile_formula, evaluate, term_points

TTTT = "6 * A + min(2, 2.5 * B) + 2.5 * C"
CLGQ = "min(2, 2 * A / 0.8) + 4 * B + min(6, 6 * C / 0.5)"


def test_evaluates_the_portal_formulas():
    assert evaluate(compile_formula(TTTT), {"A": 0.9, "B": 0.5, "C": 0.4}) == pytest.approx(7.65)
    assert evaluate(compile_formula(CLGQ), {"A": 0.6, "B": 0.5, "C": 0.3}) == pytest.approx(7.1)
    assert evaluate(compile_formula("-(A - 1) * max(1, 2, B)"), {"A": 0.5, "B": 3}) == pytest.approx(1.5)


def test_terms_are_attributed_to_single_ratios():
    f = compile_formula(CLGQ)
    assert [sorted(t.names) for t in f.terms] == [["A"], ["B"], ["C"]]
    values = {"A": 0.6, "B": 0.5, "C": 0.3}
    assert term_points(f, {"C"}, values) == pytest.approx(3.6)
    mixed = compile_formula("A * B + 2 * C - B")
    assert term_points(mixed, {"A"}, {"A": 1, "B": 1, "C": 1}) is None  # A only appears with B
    assert term_points(mixed, {"B"}, {"A": 1, "B": 0.5, "C": 1}) == pytest.approx(-0.5)


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "A.real",
        "abs(A)",
        "A ** 2",
        "A if B else C",
        "A < B",
        "lambda: 1",
        "[A]",
        "min(*A)",
        "min(A, key=B)",
        "'text'",
        "True + A",
        "A; B",
        "",
        "A +",
        "A % 2",
        "(1).__class__",
    ],
)
def test_refuses_everything_else(text):
    with pytest.raises(ExpressionError):
        compile_formula(text)


def test_unknown_names_and_division_by_zero():
    with pytest.raises(ExpressionError, match="D"):
        compile_formula("A + D", names={"A", "B"})
    with pytest.raises(ExpressionError, match="zero"):
        evaluate(compile_formula("A / (B - 1)"), {"A": 1, "B": 1})
    with pytest.raises(ExpressionError, match="B"):
        evaluate(compile_formula("A + B"), {"A": 1})
