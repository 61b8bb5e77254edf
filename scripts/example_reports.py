#!/usr/bin/env python3
"""Regenerate the example reports in docs/reports/ for the demonstration province (Lâm Đồng):
a throw-away store in a temporary folder, synthetic dossiers of 2026, then the ranking
announcement (766, 2026-Q3), a commune's scorecard and the periodic report of 2026-10, each
in Vietnamese and English, as PDF and as one PNG per page (pdftoppm, poppler-utils).

    .venv/bin/python scripts/example_reports.py [--out docs/reports]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path

UNTIL = date(2026, 11, 26)
DAY = date(2026, 11, 27)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs" / "reports"))
    parser.add_argument("--dossiers", type=int, default=40000)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chiso-examples-") as tmp:
        os.environ["CHISO_DATA_DIR"] = tmp
        os.environ["CHISO_DATABASE_URL"] = f"sqlite:///{tmp}/chiso.sqlite3"
        from chiso import db
        from chiso.dossiers import demo
        from chiso.dossiers.store import DossierStore, registry_units
        from chiso.periods import parse_period
        from chiso.reports.build import build_periodic, build_ranking, build_scorecard
        from chiso.reports.render import render
        from chiso.units import service as units

        engine = db.make_engine()
        db.upgrade(engine)
        store = DossierStore()
        with db.transaction(engine) as s:
            units.init_province(s, "68")
            views = units.list_units(s, within="68", as_of=UNTIL)
            handling = {u.code for u in units.group_members(s, "agencies_with_procedures", as_of=UNTIL)}
            demo_units = [demo.DemoUnit(v.code, v.level, v.kind) for v in views
                          if v.level == "commune" or (v.level == "agency" and v.code in handling)]
            files = demo.generate(province="68", units=demo_units, n=args.dossiers, seed=1, year=2026,
                                  out_dir=Path(tmp) / "gen", until=UNTIL)
            for kind, path in (("procedures", files.procedures), ("feedback", files.feedback),
                               ("dossiers", files.dossiers)):
                store.import_files([path], source="demo", kind=kind, units=registry_units(s))
        q3, october = parse_period("2026-Q3"), parse_period("2026-10")
        for old in out.glob("*.p[dn][fg]"):
            old.unlink()
        for lang in ("vi", "en"):
            with db.transaction(engine) as s:
                rows = {"ranking": build_ranking(s, store, index="766", period=q3, lang=lang, day=DAY),
                        "scorecard": build_scorecard(s, store, unit="24670", period=q3, lang=lang, day=DAY,
                                                     as_of=DAY),
                        "periodic": build_periodic(s, store, period=october, lang=lang, day=DAY,
                                                   at=datetime(2026, 11, 26, 17, 0))}
            for name, doc in rows.items():
                pdf = out / f"{name}-{lang}.pdf"
                pdf.write_bytes(render(doc, "pdf"))
                subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(out / f"{name}-{lang}")], check=True)
                print(pdf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
