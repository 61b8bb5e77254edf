"""The reports' content: what the conference announces, what each unit takes home, and the
periodic 766 report. One module per kind under :mod:`chiso.reports.kinds`, each reading
through the domains' services (index, assessments, targets, tasks, units; never their
tables or the dossier store) and returning a :class:`~chiso.reports.document.Document`;
:func:`chiso.reports.render.render` turns it into a file. This module is the one door to
them: the CLI, the reports page and the worker's schedules call it.

- :func:`build_ranking` (:mod:`~chiso.reports.kinds.ranking`): per group of units, who is
  first, second, third and last, the full table with changes, the largest gains and
  losses, charts, the province's own result.
- :func:`build_scorecard` / :func:`build_scorecards` (:mod:`~chiso.reports.kinds.scorecard`):
  one page per unit with its scores on every index, the 766 indicators where it loses
  most, its targets' colours and overdue tasks.
- :func:`build_periodic` (:mod:`~chiso.reports.kinds.periodic`): the 766 report of a week,
  month or quarter.
- :func:`build_conference` (:mod:`~chiso.reports.kinds.conference`): the year-end conference
  announcement of every index of the year, each ranked first to last per group.
- :func:`build_conclusion` (:mod:`~chiso.reports.kinds.conclusion`): the conclusion notice
  of a committee meeting, its points and who does what by when.
"""

from __future__ import annotations

from chiso.reports.kinds import KINDS
from chiso.reports.kinds.common import NationalStanding, Signing, national_standing, period_label, period_now_label
from chiso.reports.kinds.conclusion import build_conclusion
from chiso.reports.kinds.conference import build_conference
from chiso.reports.kinds.periodic import build_periodic, lowest_band_boundary, overdue_dossiers
from chiso.reports.kinds.ranking import build_ranking
from chiso.reports.kinds.scorecard import build_scorecard, build_scorecards, build_scorecards_split, weakest_indicators

__all__ = ["KINDS", "Signing", "NationalStanding", "national_standing", "build_conclusion", "build_conference", "build_ranking", "build_scorecard", "build_scorecards", "build_scorecards_split", "build_periodic",
           "period_label", "period_now_label", "weakest_indicators", "overdue_dossiers", "lowest_band_boundary"]
