"""The live monitoring dashboard (issue 7): one module per page family, one ``router``.

- ``overview``: the morning page (``/``);
- ``index766``: the 766 table, a unit's page, the dossiers behind a number (``/766``...);
- ``rankings``: announcements per index and group (``/rankings``);
- ``steering``: targets heat map and the task board (``/targets``, ``/tasks``);
- ``geo``: the communes on a map drawn from their coordinates (``/map``);
- ``rounds``: self-assessment, appraisal and results (``/assessments``, ``/public``).
"""

from fastapi import APIRouter, Depends

from chiso.web.deps import check_csrf
from chiso.web.dashboard import geo, index766, overview, rankings, rounds, steering

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)
for _module in (overview, index766, rankings, steering, geo, rounds):
    router.include_router(_module.router)
