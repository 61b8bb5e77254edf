"""``chiso units geometry import``: commune boundaries from GeoJSON or a shapefile, keyed by
unit code, with a former commune's polygon kept on the former unit. The files are squares
made here around invented coordinates, for real codes of province 68."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from chiso import db
from chiso.units.geometry import geometries


def square(x: float, y: float, d: float = 0.05) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}


def feature(code, geometry, key="ma_xa") -> dict:
    return {"type": "Feature", "properties": {key: code, "ten": "thử"}, "geometry": geometry}


def write(path, features) -> str:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return str(path)


def run(*args) -> tuple[int, dict | str]:
    from chiso.units.cli import units

    r = CliRunner().invoke(units, ["geometry", "import", *args])
    try:
        return r.exit_code, json.loads(r.output)
    except json.JSONDecodeError:
        return r.exit_code, r.output


@pytest.fixture
def province(province_engine):
    """A store of the test's own holding province 68 (a copy of the loaded template)."""
    return province_engine


def test_geojson_import_counts_rejects_and_keeps_lineage(province, tmp_path):
    path = write(tmp_path / "xa.geojson", [
        feature("24781", square(108.40, 11.90)),          # today's Phường Xuân Hương - Đà Lạt
        feature("old:24781", square(108.41, 11.91, 0.01)),  # the former Phường 2 merged into it
        feature("22918", square(108.20, 10.90)),          # Phường Mũi Né
        feature("99999", square(1, 1)),                    # no such unit
        feature("22918", square(108.3, 10.9)),            # the same unit twice
        feature("24784", {"type": "Point", "coordinates": [108.4, 11.9]}),
        feature("24787", square(400000, 1200000, 1000)),  # VN-2000 metres, not degrees
        {"type": "Feature", "properties": {"ten": "không mã"}, "geometry": square(108, 11)},
    ])
    code, out = run(path, "--format", "json")
    assert code == 0, out
    assert {k: out[k] for k in ("read", "inserted", "updated", "rejected")} == \
        {"read": 8, "inserted": 3, "updated": 0, "rejected": 5}
    reasons = " | ".join(r["reason"] for r in out["rejects"])
    assert out["rejects_path"].endswith("xa.geojson.rejects.csv")
    for words in ("99999", "đã có ranh giới", "Point", "kinh độ/vĩ độ", "không có mã đơn vị ("):
        assert words in reasons
    with db.transaction(province) as s:
        got = geometries(s)
    assert set(got) == {"24781", "old:24781", "22918"}
    # The former commune keeps its own small square; today's unit has the large one.
    assert got["old:24781"]["coordinates"][0][0] == [108.41, 11.91]
    assert got["24781"]["coordinates"][0][0] == [108.40, 11.90]

    # Again: nothing new; a changed polygon is an update, other units keep theirs.
    code, out = run(write(tmp_path / "lai.geojson", [feature("24781", square(108.40, 11.90)),
                                                     feature("22918", square(108.21, 10.91))]), "--format", "json")
    assert (out["inserted"], out["updated"], out["unchanged"], out["rejected"]) == (0, 1, 1, 0)
    # The era of a file of the old structure: bare codes are former communes.
    code, out = run(write(tmp_path / "cu.geojson", [feature("24784", square(108.42, 11.92, 0.01))]),
                    "--era", "old", "--format", "json")
    assert out["inserted"] == 1
    with db.transaction(province) as s:
        got = geometries(s)
    assert "old:24784" in got and got["24781"]["coordinates"][0][0] == [108.40, 11.90]


def test_shapefile_import(province, tmp_path):
    import shapefile

    with shapefile.Writer(str(tmp_path / "xa"), shapeType=shapefile.POLYGON) as w:
        w.field("MA_XA", "C", size=10)
        w.poly([[[108.4, 11.9], [108.4, 11.95], [108.45, 11.95], [108.45, 11.9], [108.4, 11.9]]])
        w.record("24781")
        w.poly([[[1, 1], [1, 2], [2, 2], [1, 1]]])
        w.record("00000")
    code, out = run(str(tmp_path / "xa.shp"), "--format", "json")
    assert code == 0, out
    assert (out["read"], out["inserted"], out["rejected"]) == (2, 1, 1)


def test_a_file_that_is_not_boundaries_is_one_clear_line(province, tmp_path, capsys):
    from chiso.cli import main

    bad = tmp_path / "xa.geojson"
    bad.write_text("{không phải json", encoding="utf-8")
    assert main(["units", "geometry", "import", str(bad)]) != 0
    err = capsys.readouterr().err
    assert "GeoJSON" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["units", "geometry", "import", str(tmp_path / "xa.csv")]) != 0
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_boundaries_are_in_the_backup(province, tmp_path, monkeypatch):
    from chiso.store import backup

    monkeypatch.setenv("CHISO_DATA_DIR", str(tmp_path / "data"))
    code, out = run(write(tmp_path / "xa.geojson", [feature("24781", square(108.40, 11.90))]), "--format", "json")
    assert out["inserted"] == 1
    summary = backup.backup(province, tmp_path / "sao-luu.tar")
    assert summary["rows"]["unit_geometries"] == 1
