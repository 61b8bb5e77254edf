"""Which indicator and measures the presentation reads, derived from the method's data
(no indicator id in code): the on-time settlement indicator, and whether a period had
dossiers."""

from __future__ import annotations

import pytest

from chiso.index import compute, service


@pytest.mark.parametrize("method_id", ["766-portal-2025", "766-formula-2022"])
def test_the_on_time_indicator_is_found_from_the_measures(method_id):
    method = service.method_for(method_id)
    assert service.on_time_indicator(method) == "2.1"  # 5.4 also judges on time, for fewer points


def test_a_period_has_records_when_a_received_dossier_counts():
    method = service.method_for(None)
    target = compute.Target("x", "commune", ("x",))

    def scored(counts):
        return service.Scored(target, "X", None, counts)

    assert not service.has_records(method, None)
    assert not service.has_records(method, scored({"procedures_all": 40}))
    assert service.has_records(method, scored({"dossiers_received": 3}))
