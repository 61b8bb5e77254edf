"""Screenshots of every dashboard page in both languages, for docs/screenshots/.

Builds the browser tests' demonstration province (tests/web/dashboard_world.py) with more
dossiers, serves it with uvicorn on a loopback port, and photographs each page with
Chromium at desktop width (1280 px), plus the overview and the task board at phone width
(375 px): the overview, the task board, the scorecard, the 766 table and the map. Then it
imports made-up commune boundaries (Voronoi cells of the communes' points,
tests/web/map_boundaries.py: shapes to draw, not the official geography) and photographs the
choropleth map, also on a 390 px phone.

    .venv/bin/python scripts/screenshots.py [--dossiers 50000] [--out docs/screenshots] [--only map]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.web.dashboard_world import (  # noqa: E402
    CHROMIUM, CHROMIUM_ARGS, Server, browser_login, build, environment)


def pages(world) -> list[tuple[str, str, str]]:
    """(file stem, path, account) of every page."""
    from chiso.index import service

    r, u = world.round_code, world.editor_unit
    second = service.method_for(None).groups[1].id  # a group unfolded into its indicators
    return [
        ("overview", "/", "admin"),
        ("766-table", "/766", "admin"),
        ("766-unit", f"/766/{u}", "admin"),
        ("766-dossiers", f"/766/{u}/2.1?only=late", "admin"),
        ("scorecard", f"/scorecard?unfold={second}", "admin"),
        ("rankings", "/rankings?group=communes", "admin"),
        ("rankings-round", f"/rankings?index={r}", "admin"),
        ("targets", "/targets", "admin"),
        ("tasks", "/tasks", "admin"),
        ("task", "/tasks/KH-03", "admin"),
        ("map", "/map", "admin"),
        ("map-on-time", "/map?show=766.2.1", "admin"),
        ("assessments", "/assessments", "admin"),
        ("round", f"/assessments/{r}", "admin"),
        ("self-assessment", f"/assessments/{r}/{u}", "editor"),
        ("appraisal", f"/assessments/{r}/{world.other_unit}", "appraiser"),
        ("public", "/public", None),
        ("commune-editor-overview", "/", "editor"),
        ("commune-editor-rankings", "/rankings", "editor"),
        ("wall-overview", "/wall?screens=overview", "admin"),
        ("wall-scorecard", "/wall?screens=scorecard", "admin"),
        ("wall-map", "/wall?screens=map", "admin"),
    ]


MAX_HEIGHT = 2400  # long tables: the top of the page tells what it is


def shoot(page, path: Path, width: int) -> None:
    height = min(MAX_HEIGHT, page.evaluate("document.documentElement.scrollHeight"))
    page.screenshot(path=str(path), full_page=True, clip={"x": 0, "y": 0, "width": width, "height": height})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--only", help="Only the pictures whose file name starts with this (e.g. map).")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from chiso.web.app import create_app

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chiso-shots-") as tmp:
        folder = Path(tmp)
        world = build(f"sqlite:///{folder / 'chiso.sqlite3'}", folder / "data", dossiers=args.dossiers)
        # One submitted unit for the appraiser's side-by-side view.
        from chiso import db
        from chiso.assessments import service as rounds
        from chiso.auth.permissions import command_line

        with environment(world.url, world.data_dir):
            with db.transaction(world.engine) as session:
                a = rounds.get_assessment(session, round_code=world.round_code, unit_code=world.other_unit)
                if a.status == "self_assessed":
                    rounds.submit(session, round_code=world.round_code, unit_code=world.other_unit,
                                  actor=command_line("demo"))
            app = create_app(engine=world.engine, store=world.store)
            with Server(app) as server, sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for lang in ("vi", "en"):
                    contexts = {}
                    for stem, path, account in pages(world):
                        if args.only and not stem.startswith(args.only):
                            continue
                        if account not in contexts:
                            ctx = browser.new_context(viewport={"width": 1280, "height": 900})
                            ctx.add_cookies([{"name": "chiso_lang", "value": lang, "url": server.url}])
                            page = ctx.new_page()
                            if account:
                                browser_login(page, server.url, account)
                            contexts[account] = page
                        page = contexts[account]
                        page.goto(server.url + path)
                        shoot(page, out / f"{stem}.{lang}.png", 1280)
                        print(out / f"{stem}.{lang}.png")
                phone = browser.new_context(viewport={"width": 375, "height": 800}, device_scale_factor=2,
                                            is_mobile=True, has_touch=True)
                phone.add_cookies([{"name": "chiso_lang", "value": "vi", "url": server.url}])
                page = phone.new_page()
                browser_login(page, server.url, "admin")
                # The phone map is taken with the boundaries, below.
                for stem, path in (("overview", "/"), ("tasks", "/tasks"), ("scorecard", "/scorecard"), ("766", "/766")):
                    if args.only and not f"phone-{stem}".startswith(args.only):
                        continue
                    page.goto(server.url + path)
                    shoot(page, out / f"phone-{stem}.vi.png", 375)
                    print(out / f"phone-{stem}.vi.png")
                phone.close()
                if not args.only or "map-boundaries".startswith(args.only) or args.only.startswith("map-boundaries"):
                    boundaries(world, folder, browser, server.url, out)
                browser.close()
        world.engine.dispose()


def boundaries(world, folder: Path, browser, base: str, out: Path) -> None:
    from chiso import db
    from chiso.units.geometry import import_geometry
    from tests.web.map_boundaries import cells, commune_points, write

    with db.transaction(world.engine) as session:
        import_geometry(session, write(folder / "xa.geojson", cells(commune_points(world.engine))))
    for lang in ("vi", "en"):
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        ctx.add_cookies([{"name": "chiso_lang", "value": lang, "url": base}])
        page = ctx.new_page()
        browser_login(page, base, "admin")
        for stem, path in (("map-boundaries", "/map"), ("map-boundaries-on-time", "/map?show=766.2.1"),
                           ("map-boundaries-target", "/map?show=target:CT-DUNGHAN")):
            page.goto(base + path)
            shoot(page, out / f"{stem}.{lang}.png", 1280)
            print(out / f"{stem}.{lang}.png")
        ctx.close()
    phone = browser.new_context(viewport={"width": 390, "height": 800}, device_scale_factor=2, is_mobile=True,
                                has_touch=True)
    phone.add_cookies([{"name": "chiso_lang", "value": "vi", "url": base}])
    page = phone.new_page()
    browser_login(page, base, "admin")
    page.goto(base + "/map?show=766.2.1")
    shoot(page, out / "phone-map.vi.png", 390)
    print(out / "phone-map.vi.png")
    phone.close()


if __name__ == "__main__":
    main()
