"""Definition files: the shipped ones load; malformed ones are refused with file, line and node."""

from __future__ import annotations

import re

import pytest

from chiso.errors import NotFound
from chiso.methods import loader
from chiso.methods.loader import DefinitionError
from definition_helpers import assert_problem, line_of, refused, write  # noqa: E402

MINIMAL = """\
id: "test-1"
family: "test"
version: "1"
default: true
name: "Thử"
name_en: "Test"
legal_basis:
  - {document: "X/QĐ", title: "t", title_en: "t", confidence: V}
sources: []
confidence: S
levels: [province, commune]
parameters: {outside_scope: full, rate_rounding: null}
bands:
  - {id: low, name: "Thấp", name_en: "Low", min: 0, max: 50, confidence: S}
  - {id: high, name: "Cao", name_en: "High", min: 50, max: 100, confidence: {mark: "?", note: "assumed"}}
measures:
  received:
    basis: dossier_received
    where: "TRUE"
    description: "d"
    description_en: "d"
  synced:
    basis: dossier_received
    where: "received_at IS NOT NULL AND synced"
    description: "d"
    description_en: "d"
  online:
    basis: dossier_received
    where: "channel = 'online'"
    description: "d"
    description_en: "d"
groups:
  - id: G1
    name: "Nhóm"
    name_en: "Group"
    max: 60
    confidence: S
    indicators:
      - id: "1.1"
        name: "a"
        name_en: "a"
        max: 40
        scope: [province, commune]
        numerator: synced
        denominator: received
        rule: {type: linear}
        zero_denominator: not_applicable
        formula: {vi: "v", en: "e"}
        confidence: S
        example: {numerator: 9, denominator: 10, points: 36}
      - id: "1.2"
        name: "b"
        name_en: "b"
        max: 20
        scope: [province]
        numerator: online
        denominator: received
        rule: {type: target, target: 0.5}
        zero_denominator: zero
        formula: {vi: "v", en: "e"}
        confidence: {definition: S, scope: {mark: "?", note: "provincial only"}}
        example: {numerator: 1, denominator: 4, points: 10}
  - id: G2
    name: "Công thức"
    name_en: "Formula"
    max: 40
    confidence: S
    rule: {type: formula, expression: "min(30, 30 * A / 0.5) + 10 * B", ratios: {A: "2.1", B: "2.2"}}
    example: {ratios: {A: 0.25, B: 0.5}, points: 20}
    indicators:
      - id: "2.1"
        name: "c"
        name_en: "c"
        max: 30
        scope: [province, commune]
        numerator: online
        denominator: received
        rule: {type: term}
        zero_denominator: zero
        formula: {vi: "v", en: "e"}
        confidence: S
        example: {numerator: 1, denominator: 4, points: 15}
      - id: "2.2"
        name: "d"
        name_en: "d"
        max: 10
        scope: [province, commune]
        numerator: synced
        denominator: received
        rule: {type: term}
        zero_denominator: full
        formula: {vi: "v", en: "e"}
        confidence: S
        example: {numerator: 0, denominator: 0, points: 10}
"""


# --- shipped definitions ---------------------------------------------------------------------


def test_shipped_files_load_and_validate():
    paths = loader.shipped()
    assert {p.stem for p in paths} >= {"766-portal-2025", "766-formula-2022"}
    for path in paths:
        assert loader.validate(path) == [], path
        method = loader.load(path.stem)
        assert method.id == path.stem  # load(id) finds the file by its id
        assert method.family == "766"
        assert [g.id for g in method.groups] == ["CKMB", "TDGQ", "CLGQ", "TTTT", "MDSH", "MDHL"]
        assert [g.max for g in method.groups] == [18, 20, 12, 10, 22, 18]
        assert method.max_total == 100


def test_one_default_per_family_and_it_is_the_portal():
    methods = loader.load_shipped()
    defaults = [m.id for m in methods if m.default and m.family == "766"]
    assert defaults == ["766-portal-2025"]
    assert loader.default_method("766").id == "766-portal-2025"


def test_portal_indicators_and_maxima_as_methodologies_lists_them():
    m = loader.load("766-portal-2025")
    got = {g.id: [(i.id, i.max) for i in g.indicators] for g in m.groups}
    assert got == {
        "CKMB": [("1.1", 6), ("1.2", 4), ("1.3", 2), ("1.4", 6)],
        "TDGQ": [("2.1", 20), ("2.2", 0)],
        "CLGQ": [("3.1", 2), ("3.2", 4), ("3.3", 6)],
        "TTTT": [("3.5", 2), ("3.5b", 2), ("3.6", 6)],
        "MDSH": [("4.1", 6), ("4.2", 4), ("4.2b", 2), ("4.3", 2), ("4.4", 4), ("4.5b", 2), ("4.5a", 2)],
        "MDHL": [("5.1", 0), ("5.2", 6), ("5.3", 6), ("5.4", 6)],
    }
    assert m.indicator("4.2").rule.type == "linear"
    assert loader.load("766-formula-2022").indicator("4.2").rule.target == 0.8
    assert {m.indicator(i).zero_denominator for i in ("5.2", "5.3")} == {"full"}
    assert m.indicator("5.4").zero_denominator == "zero"
    assert m.rate_rounding is None and m.outside_scope == "full"


def test_every_unconfirmed_element_says_what_is_assumed():
    for m in loader.load_shipped():
        marks = [b.confidence for b in m.bands] + [g.confidence for g in m.groups] + list(m.notes)
        marks += [c for i in m.indicators for c in i.confidence.values()]
        marks += [ms.confidence for ms in m.measures.values() if ms.confidence]
        assert all(c.note for c in marks if c.mark == "?")
        assert any(c.mark == "?" for c in marks)  # the assumptions are there to be seen


def test_minimal_definition_is_valid(tmp_path):
    path = write(tmp_path, MINIMAL, "ok.yaml")
    assert loader.validate(path) == []
    m = loader.load(path)
    assert m.indicator("1.2").overall_confidence.mark == "?"
    assert m.group("G2").is_formula and m.group("G2").rule.ratios == {"A": "2.1", "B": "2.2"}
    assert (m.measures["online"].basis, m.measures["online"].where) == ("dossier_received", "channel = 'online'")
    assert m.measures["online"].aggregate == "count" and not m.measures["online"].signed


def test_unknown_id_or_file():
    with pytest.raises(NotFound, match="766-portal-2025"):
        loader.load("766-nope")
    with pytest.raises(NotFound):
        loader.load("/nowhere/at/all.yaml")


# --- malformed definitions -------------------------------------------------------------------


def test_duplicate_indicator_id(tmp_path):
    text = MINIMAL.replace('      - id: "1.2"', '      - id: "1.1"')
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, '- id: "1.1"', 2),
                   node="indicator 1.1", words="duplicate indicator id")


def test_duplicate_measure_key(tmp_path):
    text = MINIMAL.replace("  online:\n", "  synced:\n")
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "  synced:", 2),
                   node="file", words="duplicate key 'synced'")


def test_duplicate_group_id(tmp_path):
    text = MINIMAL.replace("  - id: G2", "  - id: G1")
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "- id: G1", 2),
                   node="group G1", words="duplicate group id")


def test_unknown_rule_type(tmp_path):
    text = MINIMAL.replace("rule: {type: target, target: 0.5}", "rule: {type: sigmoid}")
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "sigmoid"),
                   node="indicator 1.2", words="unknown rule type 'sigmoid'")


def test_bad_sql_in_where(tmp_path):
    text = MINIMAL.replace("AND synced\"", "AND synced AND\"")
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "AND synced AND"),
                   node="measure synced", words="where: not valid SQL")


def test_subquery_in_where(tmp_path):
    text = MINIMAL.replace("AND synced\"", "AND dossier_id IN (SELECT dossier_id FROM secrets)\"")
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "FROM secrets"),
                   node="measure synced", words="subquery")


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("AND salary > 0", "unknown column 'salary'"),
        ("AND read_csv('x') = 1", "function 'read_csv'"),
        ("AND synced; DROP TABLE dossiers", "';'"),
        ("AND synced -- and more", "comment"),
        ("AND CAST(synced AS INT) = 1", "'cast'"),
        ("AND d.synced", "qualified column 'd.synced'"),
        ("AND received_at > due_at - INTERVAL 1 YEAR", "'YEAR'"),
        ("AND synced = ?", "placeholder"),
    ],
)
def test_refused_sql(tmp_path, sql, words):
    text = MINIMAL.replace("AND synced\"", f"{sql}\"")
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, sql),
                   node="measure synced", words=re.escape("where: ") + ".*" + re.escape(words))


def test_column_of_another_basis(tmp_path):
    # satisfied is a feedback column, not a dossier one.
    text = MINIMAL.replace("AND synced\"", "AND satisfied\"")
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "AND satisfied"),
                   node="measure synced", words="unknown column 'satisfied'")


def test_where_must_be_a_condition(tmp_path):
    text = MINIMAL.replace("AND synced\"", "AND synced OR supplement_days\"").replace(
        'where: "TRUE"', 'where: "supplement_days + 1"')
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "supplement_days + 1"),
                   node="measure received", words="not a true/false condition")


def test_group_max_mismatch(tmp_path):
    text = MINIMAL.replace("    max: 60\n", "    max: 65\n")
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "max: 65"),
                   node="group G1", words="max is 65 but its indicators add up to 60")


def test_formula_group_max_may_differ_from_its_indicators(tmp_path):
    # G2's indicators add up to 40 like the group, but a formula group is not checked.
    text = MINIMAL.replace("        max: 10\n", "        max: 12\n")
    assert loader.validate(write(tmp_path, text)) == []


def test_unknown_measure_name(tmp_path):
    text = MINIMAL.replace("numerator: online\n        denominator: received\n        rule: {type: target",
                           "numerator: onlin\n        denominator: received\n        rule: {type: target")
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "numerator: onlin\n".strip()),
                   node="indicator 1.2", words="numerator: unknown measure 'onlin'")


def test_unconfirmed_mark_without_a_note(tmp_path):
    text = MINIMAL.replace('scope: {mark: "?", note: "provincial only"}', 'scope: "?"')
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, 'scope: "?"'),
                   node="indicator 1.2 confidence.scope", words="needs a note")


def test_example_that_does_not_match(tmp_path):
    text = MINIMAL.replace("example: {numerator: 9, denominator: 10, points: 36}",
                           "example: {numerator: 9, denominator: 10, points: 40}")
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "points: 40}"),
                   node="indicator 1.1", words="example gives 36 points, not 40")


def test_group_example_that_does_not_match(tmp_path):
    text = MINIMAL.replace("example: {ratios: {A: 0.25, B: 0.5}, points: 20}",
                           "example: {ratios: {A: 0.25, B: 0.5}, points: 21}")
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "points: 21}"),
                   node="group G2", words="example gives 20 points, not 21")


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("__import__('os').system('x') + A + B", "call"),
        ("A ** 2 + B", "not allowed"),
        ("A + B + D", "unknown name 'D'"),
        ("A / 0 + B", "division by zero"),
    ],
)
def test_refused_group_formula(tmp_path, expression, words):
    text = MINIMAL.replace("min(30, 30 * A / 0.5) + 10 * B", expression)
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "type: formula"),
                   node="group G2", words="formula: .*" + re.escape(words))


def test_formula_ratio_needs_a_number_for_a_zero_denominator(tmp_path):
    text = MINIMAL.replace("        zero_denominator: full\n", "        zero_denominator: not_applicable\n")
    problems = refused(tmp_path, text)
    assert any("indicator 2.2: an indicator read by a group formula needs zero_denominator full or zero" in p for p in problems)


def test_term_rule_outside_a_formula_group(tmp_path):
    text = MINIMAL.replace("rule: {type: linear}", "rule: {type: term}")
    problems = refused(tmp_path, text)
    assert any(": indicator 1.1: rule 'term' is only for" in p for p in problems), problems


def test_target_out_of_range_and_info_with_points(tmp_path):
    text = MINIMAL.replace("target: 0.5", "target: 80")
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=line_of(text, "target: 80"),
                   node="indicator 1.2", words="target must be a fraction")
    text = MINIMAL.replace("rule: {type: linear}", "rule: {type: info}")
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=line_of(text, "max: 40"),
                   node="indicator 1.1", words="max 0")


def test_unquoted_id_and_unknown_keys_and_scope(tmp_path):
    text = MINIMAL.replace('      - id: "1.2"', "      - id: 1.10").replace(
        "        zero_denominator: not_applicable\n", "        zero_denominator: not_applicable\n        weight: 2\n", 1
    ).replace("scope: [province]", "scope: [province, district]")
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "id: 1.10"), node="group G1",
                   words="must be a quoted text, not 1.1")
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "weight: 2"), node="indicator 1.1",
                   words="unknown key 'weight'")
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "[province, district]"), node="indicator ?",
                   words="scope must list levels")


def test_bands_must_tile_0_to_100(tmp_path):
    text = MINIMAL.replace("min: 50, max: 100", "min: 60, max: 100")
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "bands:"),
                   node="method test-1 bands", words="gap or overlap")


def test_unused_measure_and_missing_key(tmp_path):
    text = MINIMAL.replace("measures:\n", "measures:\n  spare:\n    basis: feedback\n    where: \"satisfied\"\n"
                                          "    description: \"d\"\n    description_en: \"d\"\n", 1)
    text = text.replace('version: "1"\n', "")
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "  spare:"), node="measure spare",
                   words="not used by any indicator")
    assert_problem(problems, file=tmp_path / "bad.yaml", line=1, node="method test-1", words="missing key 'version'")


def test_yaml_syntax_error_names_the_line(tmp_path):
    text = MINIMAL.replace("    max: 60\n", "    max: [60\n")
    problems = refused(tmp_path, text)
    assert problems[0].startswith(f"{tmp_path / 'bad.yaml'}:")
    assert "not valid YAML" in problems[0]


def test_all_problems_are_reported_at_once(tmp_path):
    text = (MINIMAL.replace("rule: {type: target, target: 0.5}", "rule: {type: sigmoid}")
            .replace("    max: 60\n", "    max: 65\n")
            .replace("AND synced\"", "AND salary\""))
    problems = loader.validate(write(tmp_path, text))
    assert len(problems) >= 3
    with pytest.raises(DefinitionError, match="more problems"):
        loader.load(tmp_path / "bad.yaml")


# --- bases, on_time and derived measures ------------------------------------------------------

SETTLEMENT_MEASURES = """\
  population:
    basis: dossier_settlement
    where: "TRUE"
    description: "d"
    description_en: "d"
  punctual:
    basis: dossier_settlement
    where: "TRUE"
    on_time:
      finished: "finished_at <= due_at"
      open_until: "due_at + to_seconds(COALESCE(supplement_days, 0) * 86400)"
    description: "d"
    description_en: "d"
  late:
    basis: derived
    expression: "population - punctual"
    description: "d"
    description_en: "d"
"""


def with_measures(extra: str, numerator: str = "late", text: str = MINIMAL) -> str:
    """MINIMAL with ``extra`` measures first, and indicator 1.1 reading ``numerator``."""
    text = text.replace("measures:\n", "measures:\n" + extra, 1)
    return text.replace("numerator: synced\n        denominator: received\n        rule: {type: linear}",
                        f"numerator: {numerator}\n        denominator: received\n        rule: {{type: linear}}")


def test_settlement_on_time_and_derived_measures(tmp_path):
    text = with_measures(SETTLEMENT_MEASURES + """\
  catalogue:
    basis: procedure
    where: "decision_date >= period_start AND decision_date < period_end AND has_online_dossier"
    description: "d"
    description_en: "d"
  finished:
    basis: dossier_finished
    where: "finished_at <= due_at"
    sum: "epoch(finished_at) - epoch(received_at)"
    description: "d"
    description_en: "d"
""").replace("numerator: online\n        denominator: received\n        rule: {type: target",
             "numerator: catalogue\n        denominator: finished\n        rule: {type: target")
    path = write(tmp_path, text, "ok.yaml")
    assert loader.validate(path) == []
    m = loader.load(path)
    punctual, late = m.measures["punctual"], m.measures["late"]
    assert punctual.on_time_finished == "finished_at <= due_at"
    assert punctual.on_time_open_until.startswith("due_at + to_seconds(")
    assert (late.basis, late.expression, late.where, late.aggregate, late.signed) == (
        "derived", "population - punctual", "", "derived", True)
    assert m.measures["finished"].basis == "dossier_finished" and m.measures["finished"].signed
    assert m.measures["population"].on_time_finished is None


@pytest.mark.parametrize(
    ("basis", "key", "sql"),
    [
        ("dossier_received", "where", "received_at >= period_start AND synced"),
        ("dossier_finished", "where", "finished_at < period_end"),
        ("dossier_settlement", "where", "received_at < period_end"),
        ("feedback", "where", "received_at >= PERIOD_START AND satisfied"),
        ("dossier_finished", "sum", "epoch(period_end) - epoch(finished_at)"),
    ],
)
def test_period_parameter_in_a_record_measure(tmp_path, basis, key, sql):
    extra = f'  spare:\n    basis: {basis}\n    where: "TRUE"\n    description: "d"\n    description_en: "d"\n'
    if key == "where":
        extra = extra.replace('where: "TRUE"', f'where: "{sql}"')
    else:
        extra += f'    {key}: "{sql}"\n'
    text = with_measures(extra, numerator="spare")
    problems = refused(tmp_path, text)
    name = "period_end" if "period_end" in sql else "period_start"
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, sql), node="measure spare",
                   words=re.escape(f"{key}: '{name}' is not allowed in a {basis} measure") + ".*one record alone")
    assert len(problems) == 1, problems


def test_period_parameter_in_an_on_time_rule(tmp_path):
    text = with_measures(SETTLEMENT_MEASURES.replace('open_until: "due_at + to_seconds(COALESCE(supplement_days, 0) * 86400)"',
                                                     'open_until: "period_end"'))
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, 'open_until: "period_end"'),
                   node="measure punctual on_time",
                   words=re.escape("open_until: 'period_end' is not allowed in a dossier_settlement measure"))


def test_on_time_on_another_basis(tmp_path):
    text = MINIMAL.replace('    where: "channel = \'online\'"\n',
                           '    where: "channel = \'online\'"\n    on_time: {finished: "TRUE", open_until: "due_at"}\n')
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "on_time: {finished"),
                   node="measure online", words="on_time is only allowed on basis dossier_settlement, not dossier_received")


@pytest.mark.parametrize("missing", ["finished", "open_until"])
def test_on_time_missing_a_key(tmp_path, missing):
    lines = [line for line in SETTLEMENT_MEASURES.splitlines(keepends=True) if not line.strip().startswith(f"{missing}:")]
    text = with_measures("".join(lines))
    problems = refused(tmp_path, text)
    # A missing key is reported where its mapping starts: the line of its first key.
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "on_time:") + 1,
                   node="measure punctual on_time", words=f"missing key '{missing}'")


def test_on_time_parts_are_checked(tmp_path):
    text = with_measures(SETTLEMENT_MEASURES.replace('finished: "finished_at <= due_at"', 'finished: "finished_at"'))
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, 'finished: "finished_at"'),
                   node="measure punctual on_time", words="finished: 'finished_at' is not a true/false condition")


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("population - punctul", "expression: unknown name 'punctul'"),
        ("population / punctual", "expression: division by zero .*0 included"),
        ("population - open('x')", "expression: call 'open' is not allowed"),
    ],
)
def test_refused_derived_expression(tmp_path, expression, words):
    text = with_measures(SETTLEMENT_MEASURES.replace('"population - punctual"', f'"{expression}"'))
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, expression), node="measure late",
                   words=words)


def test_derived_measures_in_a_cycle(tmp_path):
    extra = SETTLEMENT_MEASURES.replace('"population - punctual"', '"population - early"') + """\
  early:
    basis: derived
    expression: "late + punctual"
    description: "d"
    description_en: "d"
"""
    text = with_measures(extra)
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, '"population - early"'),
                   node="measure late", words=re.escape("cycle: late → early → late"))
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, '"late + punctual"'),
                   node="measure early", words=re.escape("cycle: early → late → early"))
    text = with_measures(SETTLEMENT_MEASURES.replace('"population - punctual"', '"population - late"'))
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=line_of(text, '"population - late"'),
                   node="measure late", words=re.escape("cycle: late → late"))


@pytest.mark.parametrize("key", ["where", "sum", "distinct", "on_time"])
def test_derived_measure_with_a_record_key(tmp_path, key):
    value = '{finished: "TRUE", open_until: "due_at"}' if key == "on_time" else '"TRUE"'
    text = with_measures(SETTLEMENT_MEASURES.replace('    expression: "population - punctual"\n',
                                                     f'    expression: "population - punctual"\n    {key}: {value}\n'))
    problems = refused(tmp_path, text)
    assert_problem(problems, file=tmp_path / "bad.yaml", line=line_of(text, "  late:") + 3, node="measure late",
                   words=f"a derived measure is computed from other measures: it has no {key}")
    assert len(problems) == 1, problems


def test_derived_needs_an_expression_and_others_none(tmp_path):
    text = with_measures(SETTLEMENT_MEASURES.replace('    expression: "population - punctual"\n', ""))
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=line_of(text, "  late:") + 1,
                   node="measure late", words="missing key 'expression'")
    text = MINIMAL.replace('    where: "channel = \'online\'"\n', '    where: "channel = \'online\'"\n    expression: "received"\n')
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=line_of(text, 'expression: "received"'),
                   node="measure online", words="expression is only for a measure of basis derived")
    text = MINIMAL.replace('    where: "channel = \'online\'"\n', "")
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=line_of(text, "  online:") + 1,
                   node="measure online", words="missing key 'where'")


def test_distinct_only_on_received_dossiers(tmp_path):
    text = with_measures(SETTLEMENT_MEASURES.replace('  population:\n    basis: dossier_settlement\n    where: "TRUE"\n',
                                                     '  population:\n    basis: dossier_settlement\n    where: "TRUE"\n'
                                                     '    distinct: procedure_code\n'))
    assert_problem(refused(tmp_path, text), file=tmp_path / "bad.yaml", line=line_of(text, "distinct: procedure_code"),
                   node="measure population", words="distinct is only supported on basis dossier_received, not dossier_settlement")


def test_a_measure_read_only_by_a_derived_one_is_used(tmp_path):
    # population and punctual are read by no indicator, only by `late`: no "not used" problem.
    assert loader.validate(write(tmp_path, with_measures(SETTLEMENT_MEASURES))) == []
    # Without the indicator reading `late`, late itself is unused, but what it reads is not.
    problems = refused(tmp_path, with_measures(SETTLEMENT_MEASURES, numerator="synced"))
    assert [p.split(": ", 2)[1] for p in problems] == ["measure late"]
