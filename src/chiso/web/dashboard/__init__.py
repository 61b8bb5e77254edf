"""The live monitoring dashboard (issue 7): one module per page family, each with
its ``router`` (mounted by :func:`chiso.web.app.routers`).

- ``overview``: the morning page (``/``);
- ``index766``: the 766 table, a unit's page, the dossiers behind a number (``/766``...);
- ``rankings``: announcements per index and group (``/rankings``);
- ``steering``: targets heat map and the task board (``/targets``, ``/tasks``);
- ``steer``: the dossiers falling due (``/due``), the period's end foreseen and advice;
- ``geo``: the communes on a map drawn from their coordinates (``/map``);
- ``rounds``: self-assessment, appraisal and results (``/assessments``, ``/public``).
"""
