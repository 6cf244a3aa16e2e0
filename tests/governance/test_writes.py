"""writes.with_retries: the one loop every operation uses to plan again after losing a write race."""
from __future__ import annotations

import pytest

from governance.domain import Conflict
from governance.store import TransactionConflict, put
from governance.writes import MAX_ATTEMPTS, with_retries


class FakeStore:
    """Refuses the first `conflicts` transactions as DynamoDB does when another writer got there first."""

    def __init__(self, conflicts: int):
        self.conflicts = conflicts
        self.written: list[list] = []

    def transact(self, ops: list) -> None:
        if self.conflicts:
            self.conflicts -= 1
            raise TransactionConflict(["ConditionalCheckFailed"])
        self.written.append(ops)


def _attempts(log: list[int]):
    def attempt(n: int):
        log.append(n)
        return [put({"pk": "P", "sk": f"S{n}"})], f"result of attempt {n}"
    return attempt


def test_a_lost_race_is_planned_again_and_the_last_plan_is_written() -> None:
    store, seen = FakeStore(conflicts=2), []
    assert with_retries(store, _attempts(seen), lambda: Conflict("gave up")) == "result of attempt 2"
    assert seen == [0, 1, 2]
    assert [ops[0].item["sk"] for ops in store.written] == ["S2"]


def test_an_attempt_with_nothing_to_write_returns_at_once() -> None:
    store = FakeStore(conflicts=0)
    assert with_retries(store, lambda n: (None, "duplicate"), lambda: Conflict("gave up")) == "duplicate"
    assert store.written == []


def test_after_max_attempts_lost_races_the_operation_gives_up() -> None:
    store, seen = FakeStore(conflicts=MAX_ATTEMPTS), []
    with pytest.raises(Conflict, match="gave up"):
        with_retries(store, _attempts(seen), lambda: Conflict("gave up"))
    assert seen == list(range(MAX_ATTEMPTS)) and store.written == []


def test_an_attempt_that_refuses_stops_the_loop() -> None:
    def attempt(n: int):
        raise Conflict("stale")
    with pytest.raises(Conflict, match="stale"):
        with_retries(FakeStore(conflicts=0), attempt, lambda: Conflict("gave up"))
