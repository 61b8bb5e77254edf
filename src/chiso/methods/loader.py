"""Reading and validating method definition files (tệp định nghĩa phương pháp).

A definition file is YAML; :func:`validate` returns every problem it finds, each as one
line ``<file>:<line>: <node>: <problem>`` (the node is e.g. ``indicator 3.3`` or ``measure
dossiers_received``), and :func:`load` refuses a file with any problem. Checks: the schema
(unknown or missing keys, types), duplicate ids and keys, a group's maximum against its
indicators' (unless its points come from a formula), measure names, rule types and their
parameters, every measure's SQL per its basis (see :mod:`chiso.methods.sqlcheck`: no period
parameter where the basis places records in periods itself), ``on_time`` rules (settlement
measures only, both parts), derived measures (names of measures, no cycle, a value for any
inputs), group formulas (see :mod:`chiso.scoring.expression`), a note on every ``?``
confidence mark, band coverage of 0–100, and every worked example against the scoring
engine.

Two kinds of file share one reader and its line numbers (:mod:`chiso.methods.reader`) and
one header (:mod:`chiso.methods.header`): ``flat`` (the default: groups of indicators over
measures, the 766 index), which :mod:`chiso.methods.flatloader` reads, and ``kind: tree``
(criteria trees of the assessed indexes), which :mod:`chiso.methods.treeloader` reads. This
module picks the kind and holds the public API.
"""

from __future__ import annotations

import copyreg
import os
import pickle
import re
import sys
import time
from dataclasses import replace
from types import MappingProxyType
from pathlib import Path
from typing import Any

from chiso.errors import ChisoError, NotFound
from chiso.i18n import _
from chiso.methods import flatloader, treeloader
from chiso.methods.reader import Reader, parse_yaml
from chiso.scoring.model import (
    KINDS,
    Band,
    Confidence,
    Group,
    Indicator,
    Measure,
    Method,
    TreeMethod,
)


__all__ = [
    "DEFINITIONS", "AnyMethod", "DefinitionError", "Band", "Confidence", "Group", "Indicator", "Measure", "Method",
    "TreeMethod", "default_method", "file_kind", "load", "load_shipped", "shipped", "validate",
]

DEFINITIONS = Path(__file__).parent / "definitions"

class DefinitionError(ChisoError):
    """A definition file with problems; ``problems`` lists them all, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = len(problems) - 1
        message = problems[0] if problems else _("invalid definition")
        if more > 0:
            message += " " + _("(and {n} more problems: run `chiso methods validate`)").format(n=more)
        super().__init__(message)


def _read(reader: Reader, data: Any) -> Method | TreeMethod | None:
    top = reader.mapping(data, 1, "file", _("the file"))
    if top is None:
        return None
    kind = top.get("kind", "flat")
    if kind == "tree":
        return treeloader.read(reader, top)
    if kind != "flat":
        reader.problem(reader.at(top, "kind"), "file",
                       _("kind {kind!r} is not one of {kinds}").format(kind=kind, kinds=", ".join(KINDS)))
        return None
    return flatloader.read(reader, top)


# --- public API ------------------------------------------------------------------------------


AnyMethod = Method | TreeMethod


def _parse(path: Path) -> tuple[AnyMethod | None, list[str]]:
    reader = Reader(str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{path}:1: file: " + _("cannot read: {reason}").format(reason=exc)]
    data = parse_yaml(text, reader)
    method = _read(reader, data) if data is not None or not reader.problems else None
    if method is not None:
        method = replace(method, path=str(path))
    return method, reader.problems


def validate(path: str | Path) -> list[str]:
    """Every problem of a definition file of either kind, one line each (empty when it is valid)."""
    return _parse(Path(path))[1]


_KIND_LINE = re.compile(r"^kind:\s*[\"']?(\w+)", re.MULTILINE)


#: Kinds already read, by file, modification time and size (see :data:`_PARSED`): the
#: pages ask for the default method often, and reading every shipped file each time cost
#: milliseconds a call.
_KINDS: dict[tuple[str, int, int], str] = {}


def file_kind(path: str | Path) -> str:
    """The kind a definition file declares (``kind:`` at the top; ``flat`` without one),
    read without parsing the whole file."""
    path = Path(path)
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    kind = _KINDS.get(key)
    if kind is None:
        match = _KIND_LINE.search(path.read_text(encoding="utf-8"))
        kind = match.group(1) if match else "flat"
        if len(_KINDS) >= 256:
            _KINDS.clear()
        _KINDS[key] = kind
    return kind


def shipped(kind: str | None = "flat") -> list[Path]:
    """The definition files shipped with chiso, sorted by name: the flat ones (the 766
    index) by default, the ``tree`` ones (assessed indexes), or every one with ``None``."""
    paths = sorted(DEFINITIONS.glob("*.yaml"))
    return paths if kind is None else [p for p in paths if file_kind(p) == kind]


#: Methods already parsed, by file, modification time and size: parsing the YAML takes
#: longer than scoring a province, and the definitions (frozen objects) rarely change.
_PARSED: dict[tuple[str, int, int], AnyMethod] = {}


def load(id_or_path: str | Path, *, kind: str | None = None) -> AnyMethod:
    """A method by the id of a shipped definition (``766-portal-2025``) or by file path:
    a :class:`Method` or a :class:`TreeMethod` as the file says. With ``kind``, a method of
    another kind is refused."""
    path = Path(id_or_path)
    if not (path.suffix in (".yaml", ".yml") or path.exists()):
        path = DEFINITIONS / f"{id_or_path}.yaml"
        if not path.exists():
            known = ", ".join(p.stem for p in shipped(kind))
            raise NotFound(_("no method {id!r}: shipped methods are {known}").format(id=str(id_or_path), known=known))
    elif not path.exists():
        raise NotFound(_("no definition file {path}").format(path=path))
    stat = path.stat()
    key = (str(path.absolute()), stat.st_mtime_ns, stat.st_size)
    method = _PARSED.get(key)
    if method is None:
        digest = _digest(path.read_bytes())
        method = _kept(digest, path)
        if method is None:
            method, problems = _parse(path)
            if problems or method is None:
                raise DefinitionError(problems or [f"{path}:1: file: " + _("empty definition")])
            _keep(digest, method)
        if len(_PARSED) >= 64:
            _PARSED.clear()
        _PARSED[key] = method
    if kind is not None and method.kind != kind:
        raise ChisoError(_("{id} is a {found} method; this needs a {kind} one").format(
            id=method.id, found=method.kind, kind=kind))
    return method


# ------------------------------------------------------------ parsed once, kept on disk
#
# Parsing a definition (YAML, then every measure's SQL checked with sqlglot) costs a
# command about 0.2 s of its start; a valid definition's parsed method is kept as a pickle
# in the data folder's ``cache/methods``, named by the hash of the file's bytes and of the
# code that reads it, so that every later process reads it in half a millisecond. A file
# or a reader that changes is another name; a cache that cannot be read or written is
# only a slower start.

#: The modules whose code makes a parsed method what it is.
_READERS = ("methods/loader.py", "methods/flatloader.py", "methods/treeloader.py", "methods/reader.py",
            "methods/header.py", "methods/bases.py", "methods/sqlcheck.py", "scoring/model.py",
            "scoring/expression.py")


def _proxy(items: dict) -> MappingProxyType:
    return MappingProxyType(items)


copyreg.pickle(MappingProxyType, lambda m: (_proxy, (dict(m),)))


def _digest(content: bytes) -> str:
    import hashlib

    import chiso

    digest = hashlib.sha256(content)
    package = Path(chiso.__file__).parent
    digest.update(f"format:1;{sys.version_info[:2]};".encode())
    for name in _READERS:
        try:
            digest.update((package / name).read_bytes())
        except OSError:
            digest.update(name.encode())
    return digest.hexdigest()[:32]


def _cache_folder() -> Path:
    from chiso import settings

    return Path(settings.get("data_dir")) / "cache" / "methods"


def _kept(digest: str, path: Path) -> AnyMethod | None:
    try:
        with open(_cache_folder() / f"{digest}.pickle", "rb") as f:
            method = pickle.load(f)
    except Exception:  # noqa: BLE001  (absent, unreadable or stale: parse instead)
        return None
    if not isinstance(method, (Method, TreeMethod)):
        return None
    return replace(method, path=str(path))


def _keep(digest: str, method: AnyMethod) -> None:
    try:
        folder = _cache_folder()
        folder.mkdir(parents=True, exist_ok=True)
        temp = folder / f".{digest}.{os.getpid()}.tmp"
        temp.write_bytes(pickle.dumps(method, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(temp, folder / f"{digest}.pickle")
    except Exception:  # noqa: BLE001  (a read-only or full disk: parse next time too)
        pass


def load_shipped(kind: str | None = "flat") -> list[AnyMethod]:
    """Every shipped method of ``kind`` (flat by default; ``None`` for every kind)."""
    return [load(p) for p in shipped(kind)]


#: The default method of each family, with the stamp of the shipped files it was found
#: among (:func:`_shipped_stamp`) and when that was read: the pages ask for it several
#: times a request, and finding it loaded every shipped file again (a twentieth of a busy
#: server's time). The files are looked at again after :data:`RECHECK_SECONDS`.
_DEFAULTS: dict[tuple[str, str], tuple[float, tuple, Method]] = {}
RECHECK_SECONDS = 2.0


def _shipped_stamp() -> tuple:
    """Each shipped definition file's name, modification time and size."""
    with os.scandir(DEFINITIONS) as entries:
        return tuple(sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in entries
                            if e.name.endswith(".yaml")))


def default_method(family: str = "766") -> Method:
    """The shipped flat method of ``family`` marked ``default: true``."""
    key = (str(DEFINITIONS), family)
    kept = _DEFAULTS.get(key)
    now = time.monotonic()
    if kept is not None and now - kept[0] < RECHECK_SECONDS:
        return kept[2]
    stamp = _shipped_stamp()
    if kept is not None and kept[1] == stamp:
        _DEFAULTS[key] = (now, stamp, kept[2])
        return kept[2]
    for method in load_shipped():
        if isinstance(method, Method) and method.family == family and method.default:
            _DEFAULTS[key] = (now, stamp, method)
            return method
    raise NotFound(_("no default method for family {family!r}").format(family=family))
