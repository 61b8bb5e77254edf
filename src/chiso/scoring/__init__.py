"""The scoring engine (tính điểm): pure functions from plain data to plain data.

Nothing in this package reads files, opens a database or imports a store: a store computes
the measures of a method for each unit and period and hands them over as a mapping of
numbers; :func:`chiso.scoring.rules.score_unit` turns them into points, and
:mod:`chiso.scoring.ranking` ranks the results. :mod:`chiso.scoring.tree` scores the criteria
trees of the assessed indexes from the values entered per node, and merges and ranks them.
"""
