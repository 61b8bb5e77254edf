"""The dashboard under load (a benchmark, not a test).

With N dossiers (default 10,000,000) in the embedded store (made as benchmarks/index_766.py
makes it, and kept in --dir so that a second run starts at once), the demonstration's
committee, tasks, targets and rounds (``chiso.demo.seed_demo``), and 20 accounts:

1. start the real server (uvicorn, one process) on a loopback port, with the background
   warm-up ``chiso serve`` runs;
2. log the 20 users in (15 province-wide, 5 commune editors);
3. *cold*: each page once, the first reader after a start or an import (the warm-up is
   then under way);
4. *load*, once the server's first warm-up is done (``/healthz``: ``warming``; with
   ``--at-once`` at once, during it): the 20 users each open the pages in turn,
   concurrently, for --seconds, reading each page for a while (--think, mean seconds; 0
   for a closed-loop stress test); per page the time from request to the last byte of the
   answer (p50, p95, max), requests per second, the p95 of each 10 s of the load, and the
   bytes of the overview (the whole page: HTML, CSS, JS).

Target (issue 7, 2-core machine): every page p95 ≤ 200 ms with 20 concurrent users; the
overview under 1 MB.

    .venv/bin/python benchmarks/web_load.py [--dossiers N] [--dir /tmp/chiso-web-load] [--seconds 60]
                                            [--at-once] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "mật-khẩu-tải-thử-đủ-dài"
USERS = 20
EDITORS = 5


def machine() -> str:
    import platform

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def env_for(work: Path) -> dict:
    return {**os.environ, "CHISO_DATABASE_URL": f"sqlite:///{work / 'registry.sqlite3'}",
            "CHISO_DATA_DIR": str(work / "data"), "CHISO_LANG": "vi"}


def prepare(work: Path, n: int) -> dict:
    """The store (generated and imported in their own processes), the demo and the users."""
    out = {}
    if not (work / "store").exists():
        for phase in ("generate", "import"):
            t = time.perf_counter()
            subprocess.run([sys.executable, str(ROOT / "benchmarks" / "index_766.py"), "--setup-only", phase,
                            "--dir", str(work), "--dossiers", str(n)], check=True, capture_output=True)
            out[f"{phase}_s"] = round(time.perf_counter() - t, 1)
    os.environ.update(env_for(work))
    from chiso import db
    from chiso.auth import service as auth
    from chiso.auth.permissions import command_line
    from chiso.demo import seed_demo
    from chiso.dossiers.store import DossierStore
    from chiso.errors import NotFound
    from chiso.units import service as units

    engine = db.make_engine()
    db.upgrade(engine)
    store = DossierStore(work / "store")
    t = time.perf_counter()
    seed_demo(engine, "68", store=store)
    out["seed_demo_s"] = round(time.perf_counter() - t, 1)
    with db.transaction(engine) as session:
        communes = units.list_units(session, level="commune", within="68", as_of=date.today())
        for i in range(USERS):
            name = f"load{i:02d}"
            editor = i >= USERS - EDITORS
            try:
                auth.get_user(session, name)
            except NotFound:
                auth.add_user(session, name=name, role="editor" if editor else "steering",
                              unit=communes[i].code if editor else None, password=PASSWORD,
                              actor=command_line())
    out["store_dossiers"] = store.count()
    engine.dispose()
    return out


def serve(work: Path, port: int) -> None:
    os.environ.update(env_for(work))
    import uvicorn

    from chiso import db
    from chiso.dossiers.store import DossierStore
    from chiso.web.app import create_app

    from chiso.web.dashboard import warmup

    app = create_app(engine=db.make_engine(), store=DossierStore(work / "store"))
    warmup.start(app)  # as ``chiso serve`` does: the first pages' figures computed in the background
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def pages(unit: str, round_code: str) -> list[tuple[str, str]]:
    return [
        ("overview", "/"), ("766 table", "/766"), ("766 unit", f"/766/{unit}"),
        ("766 dossiers", f"/766/{unit}/2.1"), ("766 dossiers late", f"/766/{unit}/2.1?only=late"),
        ("rankings", "/rankings"), ("targets", "/targets"), ("tasks", "/tasks"), ("task", "/tasks/KH-03"),
        ("map", "/map"), ("assessments", "/assessments"), ("round", f"/assessments/{round_code}"),
        ("assessment", f"/assessments/{round_code}/{unit}"), ("public", "/public"),
    ]


async def login(client, name: str) -> None:
    page = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = await client.post("/login", data={"name": name, "password": PASSWORD, "csrf": token, "next": "/"})
    assert r.status_code == 303, (name, r.status_code, r.text[:200])


async def drive(base: str, seconds: float, units: list[str], round_code: str, think: float,
                at_once: bool = False) -> dict:
    import httpx2 as httpx  # a declared test dependency

    limits = httpx.Limits(max_connections=1)
    clients = [httpx.AsyncClient(base_url=base, limits=limits, timeout=120, cookies={"chiso_lang": "vi"})
               for _i in range(USERS)]
    for i, c in enumerate(clients):
        await login(c, f"load{i:02d}")
    # Cold: the first reader of each page after the start.
    cold = {}
    for name, path in pages(units[0], round_code):
        t = time.perf_counter()
        r = await clients[0].get(path)
        cold[name] = round(1000 * (time.perf_counter() - t))
        assert r.status_code == 200, (path, r.status_code)
    # Overview transferred: the page, its stylesheet and script (the browser's first visit).
    overview = await clients[0].get("/")
    css = await clients[0].get("/static/chiso.css")
    js = await clients[0].get("/static/chiso.js")
    overview_bytes = len(overview.content) + len(css.content) + len(js.content)
    # The load: a server in service, its first warm-up done (/healthz says "warming" until
    # then), unless --at-once starts it during the warm-up, as a restart at a busy hour would.
    t = time.perf_counter()
    while not at_once and (await clients[0].get("/healthz")).json().get("warming"):
        await asyncio.sleep(0.25)
    waited = round(time.perf_counter() - t, 1)
    times: dict[str, list[float]] = {name: [] for name, _p in pages(units[0], round_code)}
    started: list[tuple[float, float]] = []  # (seconds into the load, ms) of every request
    errors = 0
    begin = time.perf_counter()
    stop = begin + seconds

    rng = __import__("random").Random(7)

    async def user(i: int) -> None:
        nonlocal errors
        await asyncio.sleep(rng.uniform(0, think))  # users do not all start at the same instant
        # Editors open their own commune; province-wide users spread over the communes.
        plan = pages(units[i % len(units)], round_code)
        if i >= USERS - EDITORS:  # an editor's own commune; the sample task belongs to an agency
            plan = [x for x in plan if x[0] != "task"]
        k = i
        while time.perf_counter() < stop:
            name, path = plan[k % len(plan)]
            k += 1
            t = time.perf_counter()
            r = await clients[i].get(path)
            _ = r.content
            times[name].append(1000 * (time.perf_counter() - t))
            started.append((t - begin, times[name][-1]))
            if r.status_code != 200:
                errors += 1
            if think:
                await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))  # reading the page

    t0 = time.perf_counter()
    await asyncio.gather(*(user(i) for i in range(USERS)))
    took = time.perf_counter() - t0
    for c in clients:
        await c.aclose()

    def q(xs: list[float], p: float) -> float:
        xs = sorted(xs)
        return round(xs[min(len(xs) - 1, int(p * len(xs)))], 1) if xs else None

    per_page = {name: {"n": len(xs), "p50_ms": q(xs, 0.5), "p95_ms": q(xs, 0.95), "max_ms": round(max(xs), 1),
                       "cold_ms": cold[name]} for name, xs in times.items() if xs}
    total = sum(len(xs) for xs in times.values())
    return {"users": USERS, "think_s": think, "at_once": at_once, "waited_for_warm_up_s": waited,
            "seconds": round(took, 1), "requests": total, "errors": errors,
            "requests_per_s": round(total / took, 1), "overview_bytes": overview_bytes,
            "overview_html_bytes": len(overview.content), "pages": per_page,
            "all_p95_ms": q([x for xs in times.values() for x in xs], 0.95),
            # p95 of the requests started in each 10 s of the load: the first ones meet the
            # server's warm-up and every user's first look at its own commune.
            "p95_ms_by_10s": [q([ms for at, ms in started if k <= at < k + 10], 0.95)
                              for k in range(0, int(seconds), 10)],
            "mean_ms": round(statistics.fmean([x for xs in times.values() for x in xs]), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dossiers", type=int, default=10_000_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/chiso-web-load"))
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--port", type=int, default=8777)
    ap.add_argument("--think", type=float, default=1.0,
                    help="mean seconds a user reads a page before the next (0: no pause, a stress test)")
    ap.add_argument("--at-once", action="store_true",
                    help="start the load during the server's first warm-up instead of after it")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.dir, args.port)
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    results: dict = {"dossiers": args.dossiers, "machine": machine()}
    results.update(prepare(args.dir, args.dossiers))
    from chiso.units import service as units
    from chiso import db

    with db.transaction(db.make_engine()) as session:
        communes = [u.code for u in units.list_units(session, level="commune", within="68", as_of=date.today())]
    server = subprocess.Popen([sys.executable, __file__, "--serve", "--dir", str(args.dir), "--port", str(args.port)],
                              env=env_for(args.dir))
    try:
        import httpx2 as httpx

        for _i in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{args.port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        results["load"] = asyncio.run(drive(f"http://127.0.0.1:{args.port}", args.seconds, communes[:40],
                                            f"xa-{date.today().year}", args.think, args.at_once))
    finally:
        server.terminate()
        server.wait(timeout=20)
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return
    load = results.pop("load")
    for k, v in results.items():
        print(f"{k}: {v}")
    print(f"load {'during' if load['at_once'] else 'after'} the first warm-up (waited {load['waited_for_warm_up_s']} s)")
    print(f"{load['users']} users, {load['seconds']} s, {load['requests']} requests "
          f"({load['requests_per_s']}/s), {load['errors']} errors; overview {load['overview_bytes']:,} bytes "
          f"(HTML {load['overview_html_bytes']:,})")
    print(f"{'page':20} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'cold ms':>8}")
    for name, s in load["pages"].items():
        print(f"{name:20} {s['n']:>6} {s['p50_ms']:>8} {s['p95_ms']:>8} {s['max_ms']:>8} {s['cold_ms']:>8}")
    print(f"all pages: p95 {load['all_p95_ms']} ms; by 10 s of the load: {load['p95_ms_by_10s']}")


if __name__ == "__main__":
    main()
