"""``chiso methods score``: scoring and ranking units under a criteria tree, storing nothing."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from chiso.errors import ChisoError
from chiso.methods import loader
from chiso.methods.cli import methods

MAIN = ["awareness", "institutions", "infrastructure", "human_resources", "cyber_security",
        "gov_activity", "economy_activity", "society_activity"]

#: DTI 2022 (docs/methodology/published-figures.md#dti-2022), deliberately not in rank order.
DTI_2022 = {
    "Can Tho": [0.9000, 0.8000, 0.7233, 0.7376, 0.7226, 0.7325, 0.7556, 0.2947],
    "Da Nang": [1.0000, 0.9000, 0.8253, 0.8487, 0.7578, 0.8575, 0.7836, 0.5197],
    "Quang Ninh": [0.9581, 0.9000, 0.7648, 0.6250, 0.5382, 0.8385, 0.5904, 0.4505],
    "Ho Chi Minh City": [0.8917, 0.9000, 0.8258, 0.6267, 0.5580, 0.8406, 0.7611, 0.3590],
    "Thua Thien-Hue": [0.9500, 0.9000, 0.6823, 0.6794, 0.6423, 0.8262, 0.6787, 0.3001],
}
PUBLISHED = {"Da Nang": 0.8002, "Ho Chi Minh City": 0.7163, "Quang Ninh": 0.7024, "Thua Thien-Hue": 0.6975,
             "Can Tho": 0.6924}


@pytest.fixture
def runner(monkeypatch):
    monkeypatch.setenv("CHISO_LANG", "en")
    return CliRunner()


@pytest.fixture
def dti_file(tmp_path):
    path = tmp_path / "dti2022.json"
    path.write_text(json.dumps({p: dict(zip(MAIN, v)) for p, v in DTI_2022.items()}), encoding="utf-8")
    return path


def score(runner, *args):
    result = runner.invoke(methods, ["score", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_score_json_shape_and_the_dti_2022_check(runner, dti_file):
    rows = score(runner, "dti-922-province", "--input", str(dti_file))
    assert [r["unit"] for r in rows] == list(PUBLISHED)  # ranked, first to last
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    method = loader.load("dti-922-province")
    for row in rows:
        assert set(row) == {"unit", "total_points", "value", "band", "rank", "nodes", "groupings"}
        assert row["value"] == pytest.approx(PUBLISHED[row["unit"]], abs=0.0001)
        assert row["total_points"] == pytest.approx(row["value"] * 1000)
        assert row["band"] is None
        assert set(row["nodes"]) == set(method.nodes)
        assert all(set(n) == {"points", "max", "value"} for n in row["nodes"].values())
        assert set(row["groupings"]) == {"digital_government", "digital_economy", "digital_society"}
    da_nang = rows[0]
    assert da_nang["total_points"] == 800.175 and da_nang["value"] == 0.800175  # rounded to 6 decimals
    assert da_nang["nodes"]["gov_activity"] == {"points": 171.5, "max": 200.0, "value": 0.8575}
    assert da_nang["nodes"]["awareness.points"] == {"points": None, "max": 100.0, "value": None}


def test_merge_ranks_the_merged_unit_instead_of_its_parts(runner, dti_file):
    rows = score(runner, "dti-922-province", "--input", str(dti_file),
                 "--merge", "Da Nang=Da Nang,Quang Ninh", "--merge", "South=Can Tho,Thua Thien-Hue")
    # Da Nang: (800.175 + 702.445) / 2 = 751.31; South: (692.395 + 697.46) / 2 = 694.9275.
    assert [(r["unit"], r["rank"]) for r in rows] == [("Da Nang", 1), ("Ho Chi Minh City", 2), ("South", 3)]
    assert rows[0]["total_points"] == pytest.approx(751.31)
    assert rows[0]["nodes"]["awareness"]["value"] == pytest.approx((1.0 + 0.9581) / 2)
    assert rows[2]["total_points"] == pytest.approx(694.9275)


@pytest.mark.parametrize(("merge", "words"), [
    ("X=Da Nang", "at least two different former units"),
    ("X", "NEW=OLD1,OLD2"),
    ("X=Da Nang,Nowhere", "Nowhere is not a unit of the input file"),
    ("Can Tho=Da Nang,Quang Ninh", "Can Tho is already a unit of the input file"),
])
def test_bad_merges(runner, dti_file, merge, words):
    result = runner.invoke(methods, ["score", "dti-922-province", "--input", str(dti_file), "--merge", merge])
    assert result.exit_code == 2 and words in result.output


def test_a_unit_merged_twice(runner, dti_file):
    result = runner.invoke(methods, ["score", "dti-922-province", "--input", str(dti_file),
                                     "--merge", "A=Da Nang,Can Tho", "--merge", "B=Da Nang,Quang Ninh"])
    assert result.exit_code == 2 and "Da Nang is merged into both A and B" in result.output


def test_template_with_inputs_ties_and_bands(runner, tmp_path):
    example = loader.load("template-department").example
    unit = dict(example.values) | dict(example.inputs)  # inputs ride along with the node values
    path = tmp_path / "departments.json"
    path.write_text(json.dumps({
        "Sở A": unit,
        "Sở B": unit | {"bonus": 2.004},          # within 0.005 points of Sở A: same rank
        "Sở C": unit | {"steering.meetings": 0},  # 15 points fewer
    }), encoding="utf-8")
    rows = score(runner, "template-department", "--input", str(path))
    assert [(r["unit"], r["rank"], r["band"]) for r in rows] == [
        ("Sở B", 1, "good"), ("Sở A", 1, "good"), ("Sở C", 3, "pass")]
    assert rows[1]["total_points"] == pytest.approx(85.118) and rows[1]["value"] == pytest.approx(85.118)
    assert rows[2]["nodes"]["steering.meetings"] == {"points": 0.0, "max": 20.0, "value": 0.0}


def test_table_format(runner, dti_file):
    result = runner.invoke(methods, ["score", "dti-922-province", "--input", str(dti_file)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["rank", "unit", "points", "value", "band"]
    assert lines[2].split()[:4] == ["1", "Da", "Nang", "800.18"] and "0.8002" in lines[2]


def test_problems_name_the_unit(runner, tmp_path, dti_file):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"Da Nang": {"awareness": 1.2}}), encoding="utf-8")
    result = runner.invoke(methods, ["score", "dti-922-province", "--input", str(path)])
    assert isinstance(result.exception, ChisoError)
    assert str(result.exception).startswith("Da Nang: node awareness: 1.2 is outside [0, 1]")
    path.write_text(json.dumps({"Da Nang": {"awareness": 1}}), encoding="utf-8")
    result = runner.invoke(methods, ["score", "dti-922-province", "--input", str(path)])
    assert "Da Nang: no value for 7 leaves" in str(result.exception)
    path.write_text("[1, 2]", encoding="utf-8")
    result = runner.invoke(methods, ["score", "dti-922-province", "--input", str(path)])
    assert "expected a JSON object" in str(result.exception)


def test_methods_that_cannot_be_scored(runner, dti_file):
    result = runner.invoke(methods, ["score", "par-province", "--input", str(dti_file)])
    assert "par-province cannot be scored: the maximum points of direction" in str(result.exception)
    result = runner.invoke(methods, ["score", "766-portal-2025", "--input", str(dti_file)])
    assert "766-portal-2025 is a flat method; this needs a tree one" in str(result.exception)


def test_validate_tree_files(runner, tmp_path):
    for path in loader.shipped("tree"):
        result = runner.invoke(methods, ["validate", str(path)])
        assert result.exit_code == 0 and "no problems" in result.output, result.output
    text = loader.DEFINITIONS.joinpath("template-commune.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("{type: yes_no}", "{type: maybe}").replace("{at_least: 2, points: 10}",
                                                                           "{at_least: 2, points: 1}"), encoding="utf-8")
    result = runner.invoke(methods, ["validate", str(bad)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == loader.validate(bad) and len(lines) == 2
    assert all(line.startswith(f"{bad}:") for line in lines)
    assert "node steering.plan: unknown rule type 'maybe'" in lines[0]
    assert "node steering.inspections: the step table is not monotonic" in lines[1]


def test_sipas_blocks_on_one_scale(runner, tmp_path):
    """Issue 13: ``service_delivery: 0.8409`` once scored 42.34 (read as a percent beside a
    policy rate read as a fraction). Both are fractions now; a percent there is refused."""
    path = tmp_path / "sipas.json"
    path.write_text(json.dumps({"Việt Nam 2024": {"policy": 0.8384, "service_delivery": 0.8409}}), encoding="utf-8")
    [row] = score(runner, "sipas-1001", "--input", str(path))
    assert row["value"] == pytest.approx(83.965)
    path.write_text(json.dumps({"Việt Nam 2024": {"policy": 0.8384, "service_delivery": 84.09}}), encoding="utf-8")
    result = runner.invoke(methods, ["score", "sipas-1001", "--input", str(path)])
    assert str(result.exception) == ("Việt Nam 2024: node service_delivery: 84.09 is outside [0, 1] "
                                     "(a fraction: 84.09 percent is 0.8409)")


def test_pii_and_the_provincial_variants_score(runner, tmp_path):
    path = tmp_path / "pii.json"
    path.write_text(json.dumps({
        "A": {"inputs": 53, "outputs": 35},
        "B": {"institutions": 60, "human_capital": 50, "infrastructure": 70, "market": 40, "business": 45,
              "knowledge_technology": 30, "impact": 40},
    }), encoding="utf-8")
    rows = score(runner, "pii-1705", "--input", str(path))
    assert [(r["unit"], r["rank"]) for r in rows] == [("A", 1), ("B", 1)]
    assert rows[0]["total_points"] == pytest.approx(44) and rows[1]["total_points"] == pytest.approx(44)
    path.write_text(json.dumps({"Phường X": {k: 90 for k in ("direction", "institutions", "procedures", "organisation",
                                                             "civil_service", "public_finance", "digital_government",
                                                             "impact")}}), encoding="utf-8")
    [row] = score(runner, "par-commune", "--input", str(path))
    assert row["value"] == pytest.approx(90) and row["nodes"]["impact"]["value"] == pytest.approx(90)
