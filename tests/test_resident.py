"""The resident process (``chiso resident``): a command handed to it runs as it runs alone.

Everything here is real: a resident in its own process listening on a Unix socket, callers
in processes of their own, their standard streams handed over by the kernel."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from chiso import resident
from chiso.errors import ChisoError

#: A caller that goes through the resident only: exit 99 when it did not answer.
CALLER = ("import sys; from chiso import resident; "
          "code = resident.ask(sys.argv[1], ['chiso'] + sys.argv[2:]); sys.exit(99 if code is None else code)")
NOT_ANSWERED = 99


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the resident ended: {proc.stderr.read() if proc.stderr else ''}")
        if time.monotonic() > deadline:
            raise AssertionError("the resident did not listen in time")
        time.sleep(0.05)


def _start(path: Path, *extra: str, lang: str = "vi") -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHISO_")} | {"CHISO_LANG": lang}
    proc = subprocess.Popen([sys.executable, "-m", "chiso", "resident", "--socket", str(path), *extra],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _wait_for(path, proc)
    RESIDENTS[path] = proc.pid
    return proc


#: The process id of each resident a test started, by its socket.
RESIDENTS: dict[Path, int] = {}


def _children(pid: int) -> list[int]:
    task = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in task.read_text().split()]


def _stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    return err


@pytest.fixture(scope="module")
def sock(tmp_path_factory):
    """One resident for the module's tests (each caller brings its own environment)."""
    path = tmp_path_factory.mktemp("run") / "chiso.sock"
    proc = _start(path)
    yield path
    RESIDENTS.pop(path)
    _stop(proc)
    assert proc.returncode == 0
    assert not path.exists()  # it removes its own socket


def through(sock: Path, *argv: str, env: dict | None = None, cwd: Path | None = None,
            input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CALLER, str(sock), *argv], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, input=input, timeout=120)


def alone(*argv: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chiso", *argv], capture_output=True, text=True,
                          env={**os.environ, **(env or {}), "CHISO_RESIDENT": "off"}, cwd=cwd, timeout=120)


def test_a_command_prints_and_ends_as_it_does_alone(sock, province_url):
    argv = ("units", "list", "--level", "commune", "--format", "json")
    got, want = through(sock, *argv), alone(*argv)
    assert got.returncode == 0, got.stderr
    assert got.stdout == want.stdout
    assert len(json.loads(got.stdout)) == 124
    assert "Xã Hải Ninh" in got.stdout  # the caller's encoding, diacritics intact

    # A refused command: the same message on standard error, the same exit code.
    bad = ("index", "766", "--period", "2026-Q9")
    got, want = through(sock, *bad), alone(*bad)
    assert got.returncode == want.returncode != 0
    assert got.stderr == want.stderr and "2026-Q9" in got.stderr
    assert got.stdout == ""


def test_each_command_has_its_callers_store_language_and_folder(sock, province_url, store_url, tmp_path):
    # store_url was set last: pass each store explicitly, as two people's shells would.
    ids = set()
    for url in (province_url, store_url):
        got = through(sock, "store", "info", "--format", "json", env={"CHISO_DATABASE_URL": url})
        assert got.returncode == 0, got.stderr
        ids.add(json.loads(got.stdout)["store_id"])
    assert len(ids) == 2

    env = {"CHISO_DATABASE_URL": province_url}
    vi = through(sock, "index", "766", "--period", "2026-Q9", env={**env, "CHISO_LANG": "vi"}).stderr
    en = through(sock, "index", "766", "--period", "2026-Q9", env={**env, "CHISO_LANG": "en"}).stderr
    assert vi != en and vi == alone("index", "766", "--period", "2026-Q9", env={**env, "CHISO_LANG": "vi"}).stderr

    # A relative path is the caller's working folder's.
    got = through(sock, "methods", "docs", "--out", "pages", cwd=tmp_path)
    assert got.returncode == 0, got.stderr
    assert any((tmp_path / "pages").iterdir())


def test_standard_input_is_the_callers_and_ctrl_c_reaches_the_command(sock, province_url):
    got = through(sock, "users", "add", "ana", "--role", "admin", "--password-stdin",
                  input="a long enough passphrase 42\n")
    assert got.returncode == 0, got.stderr
    listed = through(sock, "users", "list", "--format", "json")
    assert "ana" in {u["name"] for u in json.loads(listed.stdout)}

    # Waiting for a password that never comes; Ctrl-C (SIGINT to the caller) stops it.
    earlier = set(_children(RESIDENTS[sock]))
    caller = subprocess.Popen([sys.executable, "-c", CALLER, str(sock), "users", "add", "bo", "--role", "admin",
                               "--password-stdin"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not set(_children(RESIDENTS[sock])) - earlier:  # the command has begun in a child of the resident
        assert caller.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)  # and the caller has heard of it
    caller.send_signal(signal.SIGINT)
    # Its input stays open, as a terminal's does: the command ends by the signal, not by an
    # end of input (communicate() would close it at once).
    caller.wait(timeout=30)
    err = caller.stderr.read()
    caller.stdin.close()
    caller.stdout.close()
    caller.stderr.close()
    assert caller.returncode == 130, err


def test_the_ordinary_way_when_there_is_no_resident_or_it_is_not_wanted(tmp_path):
    # A socket file left behind by a resident that was killed: nobody listens.
    left = tmp_path / "left.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(left))
    dead.close()
    assert resident.ask(str(left), ["chiso", "--help"]) is None
    assert resident.ask(str(tmp_path / "none.sock"), ["chiso", "--help"]) is None

    # Something listening that is not a resident (it hangs up): the caller runs the command.
    fake = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = tmp_path / "fake.sock"
    fake.bind(str(path))
    fake.listen(8)
    fake.settimeout(0.5)

    def asked(*argv: str, **env: str) -> bool:
        proc = subprocess.Popen([sys.executable, "-m", "chiso", *argv], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "CHISO_RESIDENT_SOCKET": str(path), **env})
        try:
            conn, _ = fake.accept()
            conn.close()
            knocked = True
        except socket.timeout:
            knocked = False
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "Usage" in out
        return knocked

    assert asked("--help")
    assert not asked("--help", CHISO_RESIDENT="off")
    # Long-running commands never go through it (nor does the resident itself).
    assert not asked("worker", "--help")
    assert not asked("resident", "--help")
    assert not asked("demo", "--help") and not asked("serve", "--help")
    fake.close()


def test_a_resident_refuses_once_chisos_files_change_and_stops(tmp_path):
    path = tmp_path / "r.sock"
    # The same resident, whose files "change" after it started.
    script = textwrap.dedent(f"""
        import itertools
        from chiso import resident
        counter = itertools.count()
        resident.fingerprint = lambda: next(counter)
        sock = resident.listen({str(path)!r})
        print(resident.serve(sock, {str(path)!r}), flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    _wait_for(path, proc)
    got = through(path, "--help")
    assert got.returncode == NOT_ANSWERED
    out, _err = proc.communicate(timeout=30)
    assert out.strip() == "changed"
    assert not path.exists()


def test_a_resident_keeps_its_socket_private_and_to_itself(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    with pytest.raises(ChisoError, match="own folder|thư mục riêng"):
        resident.listen(str(shared / "r.sock"))

    own = tmp_path / "own"
    path = own / "r.sock"
    sock = resident.listen(str(path))
    try:
        assert (own.stat().st_mode & 0o777) == 0o700
        assert (path.stat().st_mode & 0o077) == 0
        with pytest.raises(ChisoError, match=str(path)):
            resident.listen(str(path))  # a second resident on a live socket
    finally:
        sock.close()
        path.unlink()


def test_an_idle_resident_ends_by_itself(tmp_path):
    path = tmp_path / "idle.sock"
    proc = _start(path, "--idle-exit", "1", lang="en")
    assert through(path, "--help").returncode == 0
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "1 s" in err
    assert not path.exists()


def test_the_default_socket_is_this_users_and_this_copys(monkeypatch, tmp_path):
    monkeypatch.delenv("CHISO_RESIDENT_SOCKET", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    first = resident.socket_path()
    assert first.startswith(str(tmp_path)) and first.endswith(".sock")
    monkeypatch.setattr(sys, "executable", "/another/python")
    assert resident.socket_path() != first  # another interpreter: another resident
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "missing"))
    assert resident.socket_path().startswith(f"/tmp/chiso-{os.getuid()}/")


def test_a_caller_that_sees_other_files_runs_its_command_itself(sock, tmp_path):
    """A caller in another mount namespace (a container, a private /tmp) names files the
    resident's children would not find: the resident leaves the command to it."""
    unshare = shutil.which("unshare")
    assert unshare, "util-linux's unshare is part of every Debian system"
    probe = subprocess.run([unshare, "--mount", "true"], capture_output=True)
    if probe.returncode != 0 and os.environ.get("CI") != "true":
        pytest.skip("making a mount namespace needs root here")
    got = subprocess.run([unshare, "--mount", sys.executable, "-c", CALLER, str(sock), "--help"],
                         capture_output=True, text=True, timeout=120)
    assert got.returncode == NOT_ANSWERED, got.stderr
    assert through(sock, "--help").returncode == 0  # and still answers the others


def test_a_caller_tells_nothing_to_another_users_socket():
    """A socket at the expected place, listened on by another user (made here by a child that
    gives up root): the caller sends it neither its settings nor its terminal."""
    if os.getuid() != 0:
        if os.environ.get("CI") == "true":
            raise AssertionError("CI runs as root here; this test needs to switch users")
        pytest.skip("switching users needs root")
    base = Path(tempfile.mkdtemp())  # pytest's own folders are root's only: nobody could not enter
    base.chmod(0o755)
    folder = base / "other"
    folder.mkdir()
    os.chown(folder, 65534, 65534)
    path = folder / "r.sock"
    script = textwrap.dedent(f"""
        import os, socket, sys
        os.setgid(65534); os.setuid(65534)  # nobody
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind({str(path)!r}); s.listen(1); print("ready", flush=True)
        conn, _ = s.accept(); conn.settimeout(5)
        try:
            got = conn.recv(65536)
        except OSError:
            got = b""
        print(len(got), flush=True)
    """)
    other = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert other.stdout.readline().strip() == "ready"
    os.chmod(path, 0o777)  # anyone may connect, as a careless or hostile listener would allow
    assert resident.ask(str(path), ["chiso", "--help"]) is None
    out, _ = other.communicate(timeout=30)
    shutil.rmtree(base)
    assert out.strip() == "0"  # not one byte


def test_records_imported_and_counted_through_it_are_those_of_a_command_alone(sock, province_url, tmp_path):
    """The whole path a person runs: demo dossiers made and imported, then the index (DuckDB
    in the child: its own database, threads and files), through the resident and alone."""
    env = {"CHISO_DATABASE_URL": province_url, "CHISO_RECORDS_PATH": str(tmp_path / "records"),
           "CHISO_DATA_DIR": str(tmp_path / "data"), "CHISO_LANG": "en"}
    made = through(sock, "demo-data", "--province", "68", "--dossiers", "3000", "--seed", "7", "--year", "2026",
                   "--format", "json", env=env)
    assert made.returncode == 0, made.stderr
    summary = json.loads(made.stdout)
    assert summary["inserted"] > 2900, summary

    argv = ("index", "766", "--period", "2026-Q3", "--format", "json")
    cold = through(sock, *argv, env=env)  # counts the records and keeps the per-day counts
    warm = through(sock, *argv, env=env)  # reads them
    ordinary = alone(*argv, env=env)
    assert cold.returncode == warm.returncode == ordinary.returncode == 0, cold.stderr + ordinary.stderr
    assert cold.stdout == warm.stdout == ordinary.stdout
    rows = json.loads(cold.stdout)
    assert sum(r["total"] is not None for r in rows) > 100  # scored from the records imported


def test_a_request_that_is_not_one_leaves_the_resident_answering(sock):
    """Whatever reaches the socket without being a caller's request (bytes without the
    standard streams, a header promising more than comes, nothing at all) ends that child
    alone: the resident answers the next caller."""
    for junk in (b"GET / HTTP/1.0\r\n\r\n", b"\x00\x00\xff\xff{", b""):
        poke = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        poke.connect(str(sock))
        poke.settimeout(10)
        if junk:
            poke.sendall(junk)
        poke.shutdown(socket.SHUT_WR)
        try:
            reply = poke.recv(16)
        except ConnectionResetError:  # it ended with our bytes unread
            reply = b""
        assert reply == b""  # no reply, no status: the child ended quietly
        poke.close()
    got = through(sock, "--help")
    assert got.returncode == 0 and "Usage" in got.stdout
