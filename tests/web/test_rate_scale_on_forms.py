"""The assessment page shows and takes every rate as a percent; what it stores is the rate
on the method's one scale (a fraction for SIPAS, a percent for the PAR Index variants)."""

from __future__ import annotations

import pytest

from chiso.methods import loader
from chiso.web.dashboard import rounds


class Form(dict):
    pass


@pytest.mark.parametrize(("method_id", "node", "typed", "stored"), [
    ("sipas-1001-local", "access", "84,09", 0.8409),   # a fraction scale: 84.09 % is stored as 0.8409
    ("par-commune", "procedures", "84,09", 84.09),       # a percent scale: stored as typed
])
def test_a_percent_typed_is_stored_on_the_methods_scale(method_id, node, typed, stored):
    method = loader.load(method_id)
    tree = rounds._tree(method, {"leaves": {}}, "vi")
    values, _notes = rounds._values(Form({f"v.{node}": typed}), tree, "v")
    assert values == {node: pytest.approx(stored)}
    row = next(n for n in tree if n["id"] == node)
    # Shown back as the percent typed.
    assert stored / row["per_percent"] == pytest.approx(84.09)
