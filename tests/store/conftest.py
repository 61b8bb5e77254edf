"""Each store test starts from no configured store: messages in English (the msgids), a data
folder of its own, no database URL and no records folder set."""

from __future__ import annotations

import pytest

from chiso.cli import main


@pytest.fixture(autouse=True)
def english(monkeypatch, tmp_path):
    monkeypatch.setenv("CHISO_LANG", "en")
    monkeypatch.setenv("CHISO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CHISO_RECORDS_PATH", raising=False)
    monkeypatch.delenv("CHISO_DATABASE_URL", raising=False)


def run(capsys, *argv, url: str | None = None, records: str | None = None) -> tuple[int, str, str]:
    """``chiso ARGV`` on the store named by ``url`` (None: the default store), with the
    setting records_path when ``records`` is given; (exit code, stdout, stderr)."""
    with pytest.MonkeyPatch.context() as mp:
        if url is None:
            mp.delenv("CHISO_DATABASE_URL", raising=False)
        else:
            mp.setenv("CHISO_DATABASE_URL", url)
        if records is not None:
            mp.setenv("CHISO_RECORDS_PATH", records)
        code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err
