"""Peak memory of the server while it takes uploads (a benchmark, not a test).

Starts `chiso serve` on a fresh demo store in its own process and posts, as an administrator's
token, (1) an ordinary workbook of N dossiers (default 50,000), (2) the same rows as CSV, and
(3) a spreadsheet bomb: a workbook of about a megabyte whose table of texts unpacks to a
gigabyte. After each upload it reads the server's peak resident memory (VmHWM, from
/proc/PID/status) and its current one (VmRSS). Goal (issue 18): the bomb is refused with 413
and the server's peak stays under 500 MB; ordinary uploads are answered.

    .venv/bin/python benchmarks/upload_memory.py [--dossiers 50000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx  # the test extra's HTTP client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from index_766 import machine  # noqa: E402
from tests.test_sheets import bomb  # noqa: E402

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def memory(pid: int) -> dict[str, int]:
    """Peak and current resident memory of ``pid``, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            fields[key] = int(value.split()[0]) // 1024
    return {"peak_mb": fields["VmHWM"], "now_mb": fields["VmRSS"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chiso(*argv: str, env: dict, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "chiso", *argv], env=env, input=stdin, capture_output=True,
                          text=True, check=True)
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=50_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from openpyxl import Workbook

    with tempfile.TemporaryDirectory(prefix="chiso-upload-bench-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHISO_")}
        env.update(CHISO_DATABASE_URL=f"sqlite:///{work / 'store.sqlite3'}", CHISO_DATA_DIR=str(work / "data"),
                   CHISO_LANG="en")
        chiso("init", "--province", "68", env=env)
        chiso("users", "add", "bench", "--role", "admin", "--password-stdin", env=env, stdin="a-long-password-1\n")
        token = chiso("tokens", "create", "--user", "bench", env=env).strip()
        csv_path = work / "gen" / "dossiers.csv"
        csv_path.parent.mkdir()
        chiso("demo-data", "--province", "68", "--dossiers", str(args.dossiers), "--out", str(csv_path), env=env)
        rows = csv_path.read_text(encoding="utf-8").splitlines()
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("dossiers")
        for line in rows:
            ws.append(line.split(","))
        xlsx_path = work / "dossiers.xlsx"
        wb.save(xlsx_path)
        bomb_path = bomb(work / "bomb.xlsx", 1024)

        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "chiso", "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        results: dict = {"machine": machine(), "dossiers": args.dossiers,
                         "files_mb": {"xlsx": round(xlsx_path.stat().st_size / 1e6, 1),
                                      "csv": round(csv_path.stat().st_size / 1e6, 1),
                                      "bomb": round(bomb_path.stat().st_size / 1e6, 1)}}
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(base + "/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("the server did not start: " + server.stderr.read().decode()) from None
                    time.sleep(0.2)
            results["started"] = memory(server.pid)
            headers = {"Authorization": f"Bearer {token}"}
            for name, path, media in (("xlsx", xlsx_path, XLSX), ("csv", csv_path, "text/csv"),
                                      ("bomb", bomb_path, XLSX)):
                t = time.perf_counter()
                r = httpx.post(f"{base}/api/v1/dossiers?source=bench-{name}", content=path.read_bytes(),
                               headers={**headers, "content-type": media}, timeout=600)
                results[name] = {"status": r.status_code, "seconds": round(time.perf_counter() - t, 2),
                                 **memory(server.pid)}
        finally:
            server.terminate()
            server.wait(timeout=30)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
