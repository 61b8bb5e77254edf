"""Imports every module that declares tables, so that metadata and migrations see them all."""

from chiso.units import models as units_models  # noqa: F401
from chiso.assessments import models as assessments_models  # noqa: F401
from chiso.tasks import models as tasks_models  # noqa: F401
from chiso.targets import models as targets_models  # noqa: F401
from chiso.notify import models as notify_models  # noqa: F401
from chiso.auth import models as auth_models  # noqa: F401
from chiso.audit import models as audit_models  # noqa: F401
from chiso.reports import models as reports_models  # noqa: F401
from chiso.store import models as store_models  # noqa: F401
from chiso.dossiers import models as dossiers_models  # noqa: F401
from chiso.adjustments import models as adjustments_models  # noqa: F401
from chiso.feeds import models as feeds_models  # noqa: F401
from chiso.subscriptions import models as subscriptions_models  # noqa: F401
from chiso.standing import models as standing_models  # noqa: F401
