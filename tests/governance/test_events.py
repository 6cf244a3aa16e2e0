from __future__ import annotations

import pytest

from governance.domain import BadInput
from governance.events import iso_millis, parse_member_event, parse_registry_event, to_millis

from .conftest import World


@pytest.mark.parametrize("value,ms", [
    ("2024-08-29T04:09:58Z", 1_724_904_598_000), ("2024-08-29T04:09:58.123Z", 1_724_904_598_123),
    ("2024-08-29T06:09:58+02:00", 1_724_904_598_000), (1_724_904_598_000, 1_724_904_598_000),
    (1_724_904_598, 1_724_904_598_000), ("1724904598000", 1_724_904_598_000), (1.7249045981e12, 1_724_904_598_100),
])
def test_timestamps_iso_or_epoch(value, ms):
    assert to_millis(value, "t") == ms


def test_registry_event_with_and_without_lifecycle():
    w = World.__new__(World)
    plain = parse_registry_event(World.package_event(w, "g1", 2, epoch=True))
    staged = parse_registry_event(World.package_event(w, "g1", 2, lifecycle={"Stage": "Production", "StageStatus": "Approved"}))
    assert plain.lifecycle is None and staged.lifecycle == {"Stage": "Production", "StageStatus": "Approved"}
    assert plain.created_ms == staged.created_ms and iso_millis(plain.created_ms) == "2024-08-29T04:09:58.000Z"
    assert plain.created_by.endswith("assumed-role/DataScientist/alice")


def test_member_event_defaults_reported_at_to_event_time():
    w = World.__new__(World)
    ev = parse_member_event(World.member_event(w, "Model Metrics", "g1", 1, "production", metrics={"auc": 0.9}, variant="challenger"))
    assert ev.reported_ms == to_millis("2024-09-02T10:00:00Z", "t") and ev.variant == "challenger" and ev.metrics == {"auc": 0.9}
    with pytest.raises(BadInput):
        parse_member_event(World.member_event(w, "Model Metrics", "g1", 1, "production", metrics={"auc": float("nan")}))
