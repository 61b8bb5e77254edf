"""The spreadsheet reader every small import shares: limits that hold against a file built
to exhaust the server (issue 18), and nothing refused that a clerk would send."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook

from chiso import sheets
from chiso.errors import TooLarge

SRC = str(Path(__file__).parents[1] / "src")


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("CHISO_LANG", "en")


def bomb(path: Path, unpacked_mb: int) -> Path:
    """A workbook of about a megabyte whose table of texts unpacks to ``unpacked_mb``."""
    head = b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>'
    tail = b"</t></si></sst>"
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as f:
            f.write(head)
            chunk = b"A" * 2**20
            for _ in range(unpacked_mb):
                f.write(chunk)
            f.write(tail)
    return path


def vm_peak_of(code: str, env: dict) -> tuple[int, str]:
    """Run ``code`` in a fresh interpreter; its own peak resident memory (kB, from
    /proc/self/status, which is per process image) and its output."""
    probe = code + "\nprint('VmHWM', [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": SRC, "CHISO_LANG": "en", **env})
    assert done.returncode == 0, done.stderr
    peak = int(done.stdout.split("VmHWM")[-1])
    return peak, done.stdout


def test_a_spreadsheet_bomb_is_refused_before_it_is_read(tmp_path):
    path = bomb(tmp_path / "bomb.xlsx", 1024)
    assert path.stat().st_size < 8 * 2**20
    code = (f"from chiso import sheets\nfrom chiso.errors import TooLarge\n"
            f"try:\n    list(sheets.rows(__import__('pathlib').Path({str(path)!r}), unsupported='x'))\n"
            f"except TooLarge as exc:\n    print('REFUSED', exc)\n")
    peak_kb, out = vm_peak_of(code, {})
    assert "REFUSED bomb.xlsx unpacks to 1024 MB" in out and "max_unpacked_mb" in out
    assert peak_kb < 500 * 1024


def test_the_limit_is_a_setting(tmp_path, monkeypatch):
    path = bomb(tmp_path / "small-bomb.xlsx", 20)
    monkeypatch.setenv("CHISO_MAX_UNPACKED_MB", "10")
    with pytest.raises(TooLarge, match="more than the 10 MB allowed"):
        sheets.check_xlsx(path)
    monkeypatch.setenv("CHISO_MAX_UNPACKED_MB", "100")
    sheets.check_xlsx(path)  # within the limit: the reader may go on


def _workbook(path: Path, rows: list[list]) -> Path:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


def test_an_ordinary_workbook_reads_as_before(tmp_path):
    path = _workbook(tmp_path / "ok.xlsx", [["code", "name"], ["T1", "Số hóa hồ sơ"], [None, None], ["T2", 3.0]])
    assert list(sheets.rows(path, unsupported="x")) == [(1, ["code", "name"]), (2, ["T1", "Số hóa hồ sơ"]),
                                                       (4, ["T2", "3"])]


def test_too_many_columns_or_too_long_a_cell_is_refused_with_the_line(tmp_path, monkeypatch):
    monkeypatch.setenv("CHISO_MAX_COLUMNS", "5")
    wide = _workbook(tmp_path / "wide.xlsx", [["a", "b"], list(range(8))])
    with pytest.raises(TooLarge, match=r"line 2: 8 columns, more than the 5 allowed"):
        list(sheets.rows(wide, unsupported="x"))
    csv_path = tmp_path / "wide.csv"
    csv_path.write_text("a,b\n" + ",".join("x" * 8) + "\n", encoding="utf-8")
    with pytest.raises(TooLarge, match="max_columns"):
        list(sheets.rows(csv_path, unsupported="x"))
    monkeypatch.setenv("CHISO_MAX_CELL_CHARS", "100")
    long = _workbook(tmp_path / "long.xlsx", [["a"], ["x" * 101]])
    with pytest.raises(TooLarge, match=r"line 2: a cell of 101 characters"):
        list(sheets.rows(long, unsupported="x"))


def test_a_file_that_takes_too_long_to_read_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CHISO_MAX_IMPORT_SECONDS", "0")
    path = _workbook(tmp_path / "slow.xlsx", [["a"]] + [[i] for i in range(2500)])
    with pytest.raises(TooLarge, match="max_import_seconds"):
        list(sheets.rows(path, unsupported="x"))


def test_the_declared_size_bounds_what_the_reader_unpacks(tmp_path):
    """The check trusts the sizes the zip declares: Python's reader (openpyxl's too) stops
    at the declared size, so a file that declares less than it holds is refused as damaged
    instead of unpacking to more."""
    import zipfile

    path = tmp_path / "liar.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.xml", b"B" * 100_000)
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header, directory
        at = data.find(signature)
        data[at + offset: at + offset + 4] = (10).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as z, z.open("a.xml") as f:
        with pytest.raises(zipfile.BadZipFile, match="CRC"):
            f.read(1000)


FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+2", "-3+4", "@SUM(A1)", "\t=1", "\r=1"]


def test_exported_cells_never_become_formulas(tmp_path):
    """OWASP's advice for CSV, and text-typed cells for XLSX, read back with openpyxl."""
    from openpyxl import load_workbook

    assert [sheets.csv_safe(v) for v in FORMULAS] == ["'" + v for v in FORMULAS]
    assert sheets.csv_safe("Xã Hải Ninh") == "Xã Hải Ninh" and sheets.csv_safe(-3) == -3
    wb = Workbook()
    ws = wb.active
    ws.append([sheets.xlsx_safe(ws, v) for v in [*FORMULAS, "plain", 5]])
    wb.save(tmp_path / "out.xlsx")
    back = load_workbook(tmp_path / "out.xlsx").active
    cells = list(back.iter_rows(values_only=False))[0]
    assert [c.value for c in cells[:len(FORMULAS)]] == FORMULAS
    assert {c.data_type for c in cells[:len(FORMULAS)]} == {"s"}
    assert cells[-1].value == 5 and cells[-1].data_type == "n"


def test_rejects_files_carry_no_formula(tmp_path):
    from chiso.imports import Reject, write_rejects

    source = tmp_path / "tasks.csv"
    source.write_text("x\n", encoding="utf-8")
    written = write_rejects(source, [Reject(2, "bad", values={"title": FORMULAS[0]})], ["title"])
    text = Path(written).read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
