"""The unit registry's operations. Pages, API, CLI, reports and the worker call these;
nothing else touches the tables.

The work lives in four modules along the registry's seams, and this module is the one door
to them, so callers need not know where an operation is written:

- ``registry``: the registry as it stood on a day (units, names, parents, lineage, restating);
- ``load``: loading from the installed unit packages and the agency template (``init``);
- ``changes``: changes of structure recorded by hand (merge, split, rename, move, create);
- ``groups``: groups of units and their dated membership.
"""

from __future__ import annotations

from chiso.units.changes import create, merge, rename, reparent, split
from chiso.units.groups import add_to_group, create_group, group_members, list_groups, remove_from_group
from chiso.units.load import LoadSummary, init_province, load_template, normalise_province_code
from chiso.units.models import Unit  # callers select units by code through this door too
from chiso.units.registry import (
    EVENT_KINDS,
    LEGACY_PREFIX,
    LEVELS,
    REFORM_BASIS,
    REFORM_DATE,
    UnitView,
    feeders,
    feeders_of,
    get,
    home_province,
    lineage,
    list_units,
    name_on,
    names_on,
    parent_on,
    restate,
    successors_on,
    units_ever_within,
    valid_on,
    view,
)

__all__ = [
    "EVENT_KINDS", "LEGACY_PREFIX", "LEVELS", "REFORM_BASIS", "REFORM_DATE",
    "LoadSummary", "Unit", "UnitView",
    "add_to_group", "create", "create_group", "feeders", "feeders_of", "get", "group_members", "home_province",
    "init_province", "lineage", "list_groups", "list_units", "load_template", "merge", "name_on", "names_on",
    "normalise_province_code", "parent_on", "remove_from_group", "rename", "reparent", "restate",
    "split", "successors_on", "units_ever_within", "valid_on", "view",
]
