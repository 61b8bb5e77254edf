"""HTTP plumbing that every router needs, below the domains.

A domain's ``api.py`` and its pages import from here (downward); :mod:`chiso.web` only
mounts the routers. So that the arrows keep pointing down, this package may import the
kernel (``chiso.errors``, ``chiso.i18n``, ``chiso.settings``, ``chiso.db``,
``chiso.periods``, ``chiso.clock``, ``chiso.output``), ``chiso.auth`` (where the actor
comes from) and the registry lookups of ``chiso.units`` (a scope is a set of units, and
auth already rests on them); never another domain and never ``chiso.web``.
``tests/test_layout.py`` holds this.

- :mod:`.deps`: the request's store session, who is asking, the CSRF check;
- :mod:`.render`: a page rendered with the app's templates, and cookie security;
- :mod:`.paging`: ``limit``/``offset`` and the total header;
- :mod:`.scope`: unit codes to ids, the visible unit, scope filters;
- :mod:`.uploads`: uploaded files and their names;
- :mod:`.periods`: the period asked for in the query string and the period picker.

The package is ``chiso.http``; absolute imports of the standard library's ``http`` still
find the standard library.
"""
