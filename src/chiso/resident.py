"""The ``chiso`` program, and the resident process that spares each command its start-up.

Importing what a command needs (SQLAlchemy alone is 0.4–0.5 s on a 2-core machine, DuckDB
0.15 s, chiso's own modules 0.2 s) costs more than the work of most commands. ``chiso
resident`` (:mod:`chiso.resident_cli`) imports every command's modules once and waits on a
Unix socket; each ``chiso ...`` that finds it hands over its arguments, its environment, its
working folder, its umask and its standard input, output and error (the descriptors
themselves), and the resident forks a child that runs the command exactly as ``chiso``
would, in a process of its own: its own store connections, settings read from the
caller's environment, output written straight to the caller's terminal or pipe, the
caller's exit code. Nothing a command computes outlives its child, so no answer is ever
kept from one command to the next; only the imported code is shared.

It is used only when it runs for this very copy of chiso (the socket's name holds the
interpreter's and the package's paths), for the same operating-system user (the kernel's
peer credentials, checked on both ends: a caller sends nothing to another user's socket),
while chiso's files and the package folders are as it imported them (checked before each
command: a change, an upgrade say, makes it refuse and stop, and the command runs the
ordinary way), and when the caller sees the same files (the same mount namespace: a caller
in a container or a service's private /tmp runs its command itself).
``CHISO_RESIDENT=off`` runs every command the ordinary way.

This module is what the ``chiso`` program imports first: it must stay light (standard
library only) so that a command that finds the resident costs little more than Python's
own start.
"""

from __future__ import annotations

import array
import json
import os
import socket
import struct
import sys

#: Replies of the resident: the child's process id, the command's exit code, or a refusal
#: (chiso's files changed since the resident imported them, or the caller's files are not
#: the resident's: another mount namespace).
_PID, _EXIT, _REFUSED = b"P", b"X", b"S"
_HEADER = struct.Struct("!I")
_INT = struct.Struct("!i")
#: The caller's descriptors handed over: standard input, output and error.
_FDS = (0, 1, 2)
#: Signals the caller passes on to the child (a terminal's Ctrl-C reaches the caller only).
_FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")


#: Commands that always start on their own: those that run until stopped gain nothing from
#: the resident (the demo ends by serving), and the resident itself must not run in one.
ON_THEIR_OWN = frozenset({"resident", "serve", "worker", "demo"})


def package_dir() -> str:
    return os.path.dirname(os.path.abspath(__file__))


def socket_path() -> str:
    """Where this copy of chiso's resident listens: the setting ``resident_socket``, else a
    name made of the interpreter's and the package's paths, in the user's runtime folder
    (``$XDG_RUNTIME_DIR``) or a folder of the user's own under /tmp."""
    chosen = os.environ.get("CHISO_RESIDENT_SOCKET")
    if chosen:
        return chosen
    import hashlib

    runtime = os.environ.get("XDG_RUNTIME_DIR")
    folder = runtime if runtime and os.path.isdir(runtime) else os.path.join("/tmp", f"chiso-{os.getuid()}")
    ident = hashlib.sha256(f"{sys.executable}\0{package_dir()}".encode()).hexdigest()[:16]
    return os.path.join(folder, f"chiso-resident-{ident}.sock")


def fingerprint() -> tuple:
    """The sizes and modification times of chiso's files, and the modification times of the
    folders Python installs packages into (installing, upgrading or removing one there,
    SQLAlchemy or DuckDB say, changes its folder's): what the resident imported."""
    out: list[tuple] = []
    for root, dirs, files in os.walk(package_dir()):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            st = os.stat(os.path.join(root, name))
            out.append((root, name, st.st_size, st.st_mtime_ns))
    for folder in sys.path:
        if os.path.basename(folder) not in ("site-packages", "dist-packages"):
            continue  # the working folder, say, changes with every file made in it
        try:
            out.append((folder, os.stat(folder or ".").st_mtime_ns))
        except OSError:
            out.append((folder, None))
    return tuple(out)


# ---------------------------------------------------------------------------- the caller


def main() -> int:
    """The ``chiso`` program: through the resident when one runs for this copy of chiso,
    else the ordinary way (:func:`chiso.cli.main`)."""
    wanted = os.environ.get("CHISO_RESIDENT", "on").strip().lower() not in ("off", "0", "no", "false")
    if wanted and not set(sys.argv[1:2]) & ON_THEIR_OWN:
        try:
            code = ask(socket_path(), sys.argv)
        except KeyboardInterrupt:  # Ctrl-C before the command began
            from chiso.i18n import _

            sys.stderr.write(f"chiso: {_('interrupted')}\n")
            return 130
        if code is not None:
            return code
    import gc

    gc.disable()  # until the command's modules are imported: see chiso.cli.quiet_start
    from chiso.cli import main as run

    return run()


def ask(path: str, argv: list[str]) -> int | None:
    """Run ``argv`` in a child of the resident at ``path`` and return its exit code; None
    when there is no resident there (or it refused), so the caller runs the command itself.

    A signal the caller gets (Ctrl-C at its terminal) goes to the child; one that comes
    before the child is known is passed on as soon as it is, and one that comes when the
    resident refused ends the caller as it would have ended the command."""
    if not os.path.exists(path):
        return None
    import signal

    child: list[int] = []
    pending: list[int] = []

    def forward(signum, _frame):
        if not child:
            pending.append(signum)
            return
        try:
            os.kill(child[0], signum)
        except ProcessLookupError:
            pass

    signals = [getattr(signal, name) for name in _FORWARDED]
    before = {sig: signal.signal(sig, forward) for sig in signals}
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            sock.connect(path)
            if _peer_uid(sock) != os.getuid():
                _refused(before, pending)  # another user's: it gets neither settings nor terminal
                return None
            request = json.dumps({
                "argv": list(argv), "env": dict(os.environ), "cwd": os.getcwd(), "umask": _umask(),
                "namespace": _mount_namespace(),
                "stdio": [[getattr(s, "encoding", None) or "utf-8", getattr(s, "errors", None) or "strict"]
                          for s in (sys.stdin, sys.stdout, sys.stderr)],
            }).encode()
            _send(sock, _HEADER.pack(len(request)) + request, _FDS)
            reply = _recv_exact(sock, 1)
            if reply != _PID:
                _refused(before, pending)  # stale, or gone: the ordinary way
                return None
            child.append(_INT.unpack(_recv_exact(sock, _INT.size))[0])
        except OSError:
            # No resident (a socket left behind), or a descriptor that cannot be passed.
            _refused(before, pending)
            return None
        for signum in pending:
            forward(signum, None)
        return _wait(sock)
    finally:
        sock.close()


def _refused(before: dict, pending: list[int]) -> None:
    """Back to the caller's own signal handling, and the signals that came meanwhile."""
    import signal

    for sig, handler in before.items():
        signal.signal(sig, handler)
    for signum in pending:
        signal.raise_signal(signum)


def _wait(sock: socket.socket) -> int:
    try:
        reply = _recv_exact(sock, 1 + _INT.size)
    except OSError:
        reply = b""
    if len(reply) == 1 + _INT.size and reply[:1] == _EXIT:
        return _INT.unpack(reply[1:])[0]
    # The child ended without a status: killed (out of memory, a signal).
    sys.stderr.write("chiso: the command's process ended without an exit status\n")
    return 1


def _mount_namespace() -> str | None:
    """Which files a path names (Linux): a caller in another mount namespace (a container,
    a service's private /tmp) would see other files than the resident's children."""
    try:
        return os.readlink("/proc/self/ns/mnt")
    except OSError:
        return None


def _peer_uid(sock: socket.socket) -> int:
    """The user of the process at the other end (the kernel's record, not its word)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _send(sock: socket.socket, data: bytes, fds: tuple[int, ...]) -> None:
    sent = sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    if sent < len(data):
        sock.sendall(data[sent:])


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            break
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


# ---------------------------------------------------------------------------- the resident


def preload() -> list[str]:
    """Import every command's modules (not the web application's, nor the migrations, which
    act when imported); returns those that could not be imported, which a command then
    imports itself."""
    import importlib
    import pkgutil

    import chiso

    failed = []
    skip = ("chiso.__main__", "chiso.migrations", "chiso.web", "chiso.resident")
    for info in pkgutil.walk_packages(chiso.__path__, "chiso."):
        if info.name.startswith(skip):
            continue
        try:
            importlib.import_module(info.name)
        except Exception:  # an optional part (Spark's) without its package: imported when used
            failed.append(info.name)
    _warm()
    return failed


def _warm() -> None:
    """Work every command would do first and whose result depends on chiso's own files only
    (which the resident checks before each command): the ORM's mappers configured, the
    packaged working-day calendar and its days, the translations, the newest migration's
    name and the shipped method definitions read, the database dialects loaded
    (no store is opened: connections are the children's own)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import configure_mappers

    from chiso.calendar import default_calendar
    from chiso.db import head_revision
    from chiso.i18n import translations
    from chiso.index.records import workdays_fingerprint
    from chiso.methods.loader import default_method, load_shipped

    configure_mappers()
    default_calendar()
    workdays_fingerprint()  # the packaged calendar's days, as the record views join them
    head_revision()  # read from the migration files, which are chiso's
    load_shipped()  # the shipped method definitions, parsed (each checked again by its files' stamp)
    default_method("766")
    for lang in ("vi", "en"):
        translations(lang)
    for url in ("sqlite://", "postgresql+psycopg://"):
        try:
            create_engine(url).dispose()
        except Exception:  # a driver not installed: loaded by the command that needs it
            pass


def listen(path: str) -> socket.socket:
    """A listening socket at ``path``, in a folder only this user can enter; refuses when a
    resident already answers there."""
    from chiso.errors import ChisoError
    from chiso.i18n import _

    folder = os.path.dirname(path) or "."
    os.makedirs(folder, mode=0o700, exist_ok=True)
    st = os.stat(folder)
    if st.st_uid != os.getuid() or (st.st_mode & 0o022):
        raise ChisoError(_("{folder} is not this user's own folder (another owner, or others may write in it): "
                           "a socket there could be replaced by someone else.").format(folder=folder))
    if os.path.exists(path):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)  # left behind by a resident that was killed
        else:
            raise ChisoError(_("A resident already listens at {path}.").format(path=path))
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # the socket itself: this user only
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    sock.listen(64)
    return sock


def serve(sock: socket.socket, path: str, *, idle_seconds: float | None = None) -> str:
    """Answer callers until chiso's files change ("changed"), the socket is removed or
    replaced by another resident's ("removed"), no caller came for ``idle_seconds``
    ("idle"), or the resident is stopped (Ctrl-C, SIGTERM: "stopped"); returns why. The
    socket is removed when it is still this resident's."""
    import gc
    import signal

    def stop(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    files = fingerprint()
    inode = os.stat(path).st_ino
    gc.collect()
    gc.freeze()  # what was imported is never collected: children need not walk it
    sock.settimeout(idle_seconds)
    try:
        while True:
            try:
                conn, _addr = sock.accept()
            except socket.timeout:
                return "idle"
            with conn:
                try:
                    if not _same_user(conn):
                        continue
                    if fingerprint() != files:
                        conn.sendall(_REFUSED)
                        return "changed"
                    if _inode(path) != inode:
                        return "removed"
                    pid = os.fork()
                except OSError:
                    continue
                if pid == 0:  # the child never returns
                    sock.close()
                    _child(conn)
    except KeyboardInterrupt:
        return "stopped"
    finally:
        if _inode(path) == inode:
            os.unlink(path)


def _inode(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def _same_user(conn: socket.socket) -> bool:
    return _peer_uid(conn) == os.getuid()


def _child(conn: socket.socket) -> None:
    try:
        request = _receive(conn)
    except (OSError, ValueError, struct.error):
        os._exit(0)  # the caller left before asking (another resident's probe, say)
    code = 70
    try:
        if request.get("namespace") != _mount_namespace():
            conn.sendall(_REFUSED)  # its paths are not ours: it runs the command itself
            os._exit(0)
        conn.sendall(_PID + _INT.pack(os.getpid()))
        code = _run(request)
    except BaseException:  # noqa: B036 - whatever happens, the caller gets a status
        import traceback

        traceback.print_exc()
    finally:
        try:
            conn.sendall(_EXIT + _INT.pack(code))
        finally:
            os._exit(code & 0xFF)


def _receive(conn: socket.socket) -> dict:
    size = _HEADER.size
    fds = array.array("i")
    data, ancdata, _flags, _addr = conn.recvmsg(size, socket.CMSG_SPACE(len(_FDS) * fds.itemsize))
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    if len(fds) != len(_FDS):
        raise OSError("the caller's standard input, output and error did not come")
    data += _recv_exact(conn, size - len(data))
    (length,) = _HEADER.unpack(data)
    request = json.loads(_recv_exact(conn, length))
    for target, fd in zip(_FDS, fds):
        os.dup2(fd, target)
        os.close(fd)
    return request


def _run(request: dict) -> int:
    """The command, as a ``chiso`` process of the caller's would run it."""
    import atexit
    import gc
    import io
    import signal
    import time

    os.setsid()  # no controlling terminal: a password prompt turns echo off on the caller's
    for name in ("SIGCHLD", "SIGTERM", "SIGHUP", "SIGQUIT"):
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    streams = []
    for fd, (encoding, errors) in zip(_FDS, request["stdio"]):
        raw = io.FileIO(fd, "r" if fd == 0 else "w", closefd=False)
        buffered = io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
        streams.append(io.TextIOWrapper(buffered, encoding=encoding, errors=errors,
                                        line_buffering=fd == 2 or (fd == 1 and os.isatty(1))))
    for name, stream in zip(("stdin", "stdout", "stderr"), streams):
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)  # what some libraries write to
    sys.argv = list(request["argv"])
    gc.enable()
    from chiso.cli import main as run

    try:
        code = run(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int) and exc.code is not None:
            sys.stderr.write(f"{exc.code}\n")
    atexit._run_exitfuncs()
    for out in (sys.stdout, sys.stderr):
        try:
            out.flush()
        except (BrokenPipeError, ValueError):
            pass
    return int(code or 0)
