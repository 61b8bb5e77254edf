"""One module per report kind (``ranking``, ``scorecard``, ``periodic``); each builds a
:class:`~chiso.reports.document.Document` through the domains' services.
:mod:`chiso.reports.build` is the one entry point to them."""

#: The report kinds, in the order the pages and the commands list them.
KINDS = ("ranking", "scorecard", "periodic")
