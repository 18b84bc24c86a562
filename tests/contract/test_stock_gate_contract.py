"""One contract for both flash-sale stock gates: LocalStockGate (embedded) and RedisStockGate
(scale-out). The gate is loaded lazily from the database through a loader; here the loader reads
a dict that stands in for the database."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livepledge.orders.gate import ItemStock, LocalStockGate, RedisStockGate, Reservation

GATES = ["local", "redis"]
_item_ids = itertools.count(1000)


class FakeDatabase:
    """Stock as the database would report it when the gate loads an item."""

    def __init__(self) -> None:
        self.items: dict[int, ItemStock] = {}
        self.loads: list[int] = []

    def add(self, remaining: int, bought: dict[int, int] | None = None) -> int:
        item_id = next(_item_ids)
        self.items[item_id] = ItemStock(remaining, bought or {})
        return item_id

    async def load(self, item_id: int) -> ItemStock:
        self.loads.append(item_id)
        return self.items[item_id]


def make_gate(kind: str, database: FakeDatabase, redis_url: str | None):  # type: ignore[no-untyped-def]
    if kind == "local":
        return LocalStockGate(database.load)
    assert redis_url is not None
    return RedisStockGate(redis_url, database.load, prefix="lp:contract-gate")


@pytest.fixture(params=GATES)
def gate_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def redis_for_gate(gate_kind: str, request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("redis_url") if gate_kind == "redis" else None


@pytest.fixture
def database() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
async def gate(gate_kind: str, database: FakeDatabase,
               redis_for_gate: str | None) -> AsyncIterator[object]:
    instance = make_gate(gate_kind, database, redis_for_gate)
    yield instance
    await instance.close()


async def test_reserve_takes_units_and_counts_the_buyer(gate, database):
    item = database.add(remaining=5)

    reservation = await gate.reserve(item, 7, 2, 3, reference="7:a")

    assert reservation == Reservation("reserved", 0, "7:a")
    assert reservation.is_reserved
    assert await gate.remaining(item) == 3
    assert database.loads == [item]  # loaded once, on first use


async def test_over_the_limit_is_refused_and_changes_nothing(gate, database):
    item = database.add(remaining=5, bought={7: 2})

    reservation = await gate.reserve(item, 7, 2, 3, reference="7:a")

    assert reservation == Reservation("over_limit", 2, "")
    assert not reservation.is_reserved
    assert await gate.remaining(item) == 5
    assert (await gate.reserve(item, 7, 1, 3, reference="7:b")).outcome == "reserved"


async def test_sold_out_is_refused_and_changes_nothing(gate, database):
    item = database.add(remaining=1)

    refused = await gate.reserve(item, 7, 2, 5, reference="7:a")

    assert refused == Reservation("sold_out", 0, "")
    assert await gate.remaining(item) == 1
    assert (await gate.reserve(item, 7, 1, 5, reference="7:b")).outcome == "reserved"
    assert await gate.remaining(item) == 0
    assert (await gate.reserve(item, 8, 1, 5, reference="8:a")).outcome == "sold_out"


async def test_over_limit_is_reported_before_sold_out(gate, database):
    item = database.add(remaining=0, bought={7: 1})

    assert (await gate.reserve(item, 7, 1, 1, reference="7:a")) == Reservation(
        "over_limit", 1, "")


async def test_release_gives_units_and_the_buyers_count_back(gate, database):
    item = database.add(remaining=2)
    reservation = await gate.reserve(item, 7, 2, 2, reference="7:a")

    await gate.release(item, 7, 2, reservation)

    assert await gate.remaining(item) == 2
    again = await gate.reserve(item, 7, 2, 2, reference="7:b")
    assert again == Reservation("reserved", 0, "7:b")


async def test_releasing_the_same_reservation_twice_gives_back_once(gate, database):
    item = database.add(remaining=3)
    reservation = await gate.reserve(item, 7, 1, 5, reference="7:a")

    await gate.release(item, 7, 1, reservation)
    await gate.release(item, 7, 1, reservation)

    assert await gate.remaining(item) == 3
    assert (await gate.reserve(item, 7, 1, 1, reference="7:b")).bought_before == 0


async def test_a_confirmed_reservation_is_not_given_back_by_its_release(gate, database):
    # a writer that confirmed the order and then (wrongly) releases it must not free the unit
    item = database.add(remaining=3)
    reservation = await gate.reserve(item, 7, 1, 5, reference="7:a")

    await gate.confirm(item, [reservation])
    await gate.release(item, 7, 1, reservation)

    assert await gate.remaining(item) == 2


async def test_a_settled_release_gives_back_a_committed_order(gate, database):
    # expiry or cancellation of a committed order: no reservation, units go back
    item = database.add(remaining=3)
    reservation = await gate.reserve(item, 7, 1, 1, reference="7:a")
    await gate.confirm(item, [reservation])

    await gate.release(item, 7, 1)

    assert await gate.remaining(item) == 3
    assert (await gate.reserve(item, 7, 1, 1, reference="7:b")).outcome == "reserved"


async def test_release_of_an_item_not_gated_changes_nothing(gate, database):
    item = database.add(remaining=3)

    await gate.release(item, 7, 1)

    assert await gate.remaining(item) is None
    assert database.loads == []


async def test_forget_reloads_from_the_database(gate, database):
    item = database.add(remaining=3)
    await gate.reserve(item, 7, 1, 1, reference="7:a")
    database.items[item] = ItemStock(10, {})

    await gate.forget(item)

    assert await gate.remaining(item) is None
    assert (await gate.reserve(item, 7, 1, 1, reference="7:b")).outcome == "reserved"
    assert await gate.remaining(item) == 9


async def test_concurrent_reservations_never_exceed_stock_or_limit(gate, database):
    item = database.add(remaining=50)

    results = await asyncio.gather(*(
        gate.reserve(item, buyer, 1, 2, reference=f"{buyer}:{n}")
        for n in range(3) for buyer in range(40)))

    reserved = [r for r in results if r.is_reserved]
    assert len(reserved) == 50
    assert await gate.remaining(item) == 0


# --- any sequence of reserve / release / confirm keeps the invariants -----------------------

operation = st.one_of(
    st.tuples(st.just("reserve"), st.integers(0, 4), st.integers(1, 3)),
    st.tuples(st.just("release"), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("confirm"), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("release_twice"), st.integers(0, 30), st.just(0)),
)


@pytest.fixture
def runner() -> AsyncIterator[asyncio.Runner]:  # type: ignore[misc]
    with asyncio.Runner() as loop_runner:
        yield loop_runner


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stock=st.integers(0, 8), limit=st.integers(1, 3),
       operations=st.lists(operation, max_size=30))
def test_any_sequence_keeps_reserved_within_stock_and_limits(gate_kind, redis_for_gate, runner,
                                                             stock, limit, operations):
    runner.run(_check_sequence(gate_kind, redis_for_gate, stock, limit, operations))


async def _check_sequence(kind: str, redis_url: str | None, stock: int, limit: int,
                          operations: list[tuple[str, int, int]]) -> None:
    database = FakeDatabase()
    item = database.add(remaining=stock)
    gate = make_gate(kind, database, redis_url)
    held: list[Held] = []  # the model: reservations not given back yet
    try:
        for step, (name, which, quantity) in enumerate(operations):
            if name == "reserve":
                await _reserve_and_compare(gate, item, held, buyer=which, quantity=quantity,
                                           limit=limit, stock=stock, step=step)
            elif held:
                entry = held[which % len(held)]
                if name == "confirm":
                    await gate.confirm(item, [entry.reservation])
                    entry.confirmed = True
                    continue
                held.remove(entry)
                # a committed order's units come back as a settled release (expiry, cancel)
                await gate.release(item, entry.buyer, entry.quantity,
                                   None if entry.confirmed else entry.reservation)
                if name == "release_twice":  # a retried release of the same reservation
                    await gate.release(item, entry.buyer, entry.quantity, entry.reservation)
            taken = sum(h.quantity for h in held)
            assert 0 <= taken <= stock
            assert await gate.remaining(item) in (None, stock - taken)
    finally:
        if isinstance(gate, RedisStockGate):
            await gate.forget(item)
        await gate.close()


@dataclass
class Held:
    buyer: int
    quantity: int
    reservation: Reservation
    confirmed: bool = False


async def _reserve_and_compare(gate, item: int, held: list[Held], *, buyer: int,  # type: ignore[no-untyped-def]
                               quantity: int, limit: int, stock: int, step: int) -> None:
    bought = sum(h.quantity for h in held if h.buyer == buyer)
    taken = sum(h.quantity for h in held)
    result = await gate.reserve(item, buyer, quantity, limit, reference=f"{buyer}:{step}")
    if bought + quantity > limit:
        assert result == Reservation("over_limit", bought, "")
    elif taken + quantity > stock:
        assert result == Reservation("sold_out", bought, "")
    else:
        assert result == Reservation("reserved", bought, f"{buyer}:{step}")
        held.append(Held(buyer, quantity, result))


async def test_a_known_reference_is_recognised_not_reserved_again(gate, database):
    item = database.add(remaining=5)
    first = await gate.reserve(item, 7, 1, 3, reference="7:a")
    await gate.confirm(item, [first])

    repeat = await gate.reserve(item, 7, 1, 3, reference="7:a")
    in_flight = await gate.reserve(item, 8, 1, 3, reference="8:b")
    repeat_in_flight = await gate.reserve(item, 8, 1, 3, reference="8:b")

    assert (repeat.outcome, repeat.bought_before, repeat.token) == ("known", 1, "")
    assert in_flight.is_reserved
    assert repeat_in_flight.outcome == "known"
    assert await gate.remaining(item) == 3


async def test_references_of_orders_in_the_database_are_known(gate, database):
    item_id = next(_item_ids)
    database.items[item_id] = ItemStock(4, {7: 1}, {"7:old"})

    repeat = await gate.reserve(item_id, 7, 1, 3, reference="7:old")
    fresh = await gate.reserve(item_id, 7, 1, 3, reference="7:new")

    assert repeat.outcome == "known"
    assert (fresh.outcome, fresh.bought_before) == ("reserved", 1)
    assert await gate.remaining(item_id) == 3


async def test_a_released_reservation_forgets_its_reference(gate, database):
    item = database.add(remaining=1)
    failed = await gate.reserve(item, 7, 1, 1, reference="7:a")
    await gate.release(item, 7, 1, failed)  # the write failed: no order under this key

    retry = await gate.reserve(item, 7, 1, 1, reference="7:a")

    assert retry.is_reserved
    assert await gate.remaining(item) == 0


async def test_units_returned_by_expiry_keep_the_reference(gate, database):
    item = database.add(remaining=1)
    sold = await gate.reserve(item, 7, 1, 1, reference="7:a")
    await gate.confirm(item, [sold])
    await gate.release(item, 7, 1)  # the order expired: its key still names that order

    repeat = await gate.reserve(item, 7, 1, 1, reference="7:a")
    other = await gate.reserve(item, 9, 1, 1, reference="9:z")

    assert repeat.outcome == "known"
    assert other.is_reserved


async def test_a_burst_on_an_unloaded_item_reads_the_database_once(gate, database):
    item = database.add(remaining=10)

    results = await asyncio.gather(*(gate.reserve(item, buyer, 1, 1, reference=f"{buyer}:k")
                                     for buyer in range(1, 51)))

    assert database.loads == [item]
    assert sorted(r.outcome for r in results) == ["reserved"] * 10 + ["sold_out"] * 40
    assert await gate.remaining(item) == 0


# --- dead workers (issue #16, item 14) ------------------------------------------------------

async def test_a_live_processes_reservation_is_never_reclaimed(gate, database):
    item = database.add(remaining=3)
    reservation = await gate.reserve(item, 7, 1, 1, reference="7:a")
    asked: list[bool] = []

    async def committed() -> bool:
        asked.append(True)
        return False

    assert await gate.reclaim_orphan(item, "7:a", committed) is False
    assert asked == []  # its worker is alive: not even looked up in the database
    assert await gate.remaining(item) == 2
    assert (await gate.reserve(item, 7, 1, 1, reference="7:a")).outcome == "known"
    await gate.release(item, 7, 1, reservation)
    assert await gate.remaining(item) == 3


def _redis_gate(database: FakeDatabase, url: str, *, ttl: float = 0.4) -> RedisStockGate:
    return RedisStockGate(url, database.load, prefix="lp:contract-gate", worker_ttl=ttl,
                          heartbeat_seconds=ttl / 4)


def _stop_beating(gate: RedisStockGate) -> None:
    """As SIGKILL would: the heartbeat stops, nothing is cleaned up."""
    assert gate._heart is not None
    gate._heart_stop.set()
    gate._heart.join()


async def _until_dead(observer: RedisStockGate, worker: str) -> None:
    deadline = time.monotonic() + 10
    while worker not in await observer.dead_workers():  # the liveness key's TTL runs out
        assert time.monotonic() < deadline, "the liveness key never expired"
        await asyncio.sleep(0.05)


def _never(committed: bool = False):  # type: ignore[no-untyped-def]
    """The database's answer to "is this reservation's order committed?"."""
    async def check() -> bool:
        return committed
    return check


@pytest.fixture
async def two_workers(database: FakeDatabase, redis_url: str):  # type: ignore[no-untyped-def]
    """Two workers sharing one Redis gate (a short liveness TTL, so the test is quick)."""
    first, second = _redis_gate(database, redis_url), _redis_gate(database, redis_url)
    await first.start()
    await second.start()
    yield first, second
    await first.close()
    await second.close()


async def test_a_slow_but_alive_worker_keeps_its_reservations(two_workers, database):
    # Given a worker with a pending reservation whose event loop then stalls for 3 TTLs
    slow, other = two_workers
    item = database.add(remaining=3)
    await slow.reserve(item, 7, 1, 1, reference="7:a")
    time.sleep(slow.worker_ttl * 3)  # a blocked event loop, not a wait for a result

    # Then its heartbeat (a thread) kept it alive: nobody reclaims its reservation
    assert await other.dead_workers() == set()
    assert await other.orphan(item, "7:a") is None
    assert await other.reclaim_orphan(item, "7:a", _never()) is False
    assert await other.remaining(item) == 2
    assert (await other.reserve(item, 7, 1, 1, reference="7:a")).outcome == "known"


async def test_a_dead_workers_unwritten_reservation_is_released_once(two_workers, database):
    # Given a worker that dies with a reservation pending, its order never written
    dead, alive = two_workers
    item = database.add(remaining=3)
    await dead.reserve(item, 7, 2, 2, reference="7:a")
    await alive.reserve(item, 8, 1, 2, reference="8:a")
    _stop_beating(dead)
    await _until_dead(alive, dead.worker_id)
    assert await alive.dead_workers() == {dead.worker_id}

    # When two workers race to reclaim it
    outcomes = await asyncio.gather(alive.reclaim_orphan(item, "7:a", _never()),
                                    alive.reclaim_orphan(item, "7:a", _never()))

    # Then exactly one gave its units and the buyer's count back, and the reference is free
    assert sorted(outcomes) == [False, True]
    assert await alive.remaining(item) == 2
    assert await alive.orphan(item, "7:a") is None
    # the live worker's reservation is untouched
    assert await alive.reclaim_orphan(item, "8:a", _never()) is False
    again = await alive.reserve(item, 7, 2, 2, reference="7:a")
    assert again == Reservation("reserved", 0, "7:a")
    assert await alive.remaining(item) == 0


async def test_a_dead_workers_committed_reservation_is_kept_sold(two_workers, database):
    dead, alive = two_workers
    item = database.add(remaining=3)
    await dead.reserve(item, 7, 1, 1, reference="7:a")
    _stop_beating(dead)
    await _until_dead(alive, dead.worker_id)

    # its order is in the database: the reservation is settled, nothing given back
    assert await alive.reclaim_orphan(item, "7:a", _never(committed=True)) is False
    assert await alive.orphan(item, "7:a") is None
    assert await alive.remaining(item) == 2
    assert (await alive.reserve(item, 7, 1, 1, reference="7:a")).outcome == "known"
    assert (await alive.reserve(item, 7, 1, 1, reference="7:b")).outcome == "over_limit"


async def test_the_sweep_settles_only_dead_workers_reservations(two_workers, database):
    dead, alive = two_workers
    item = database.add(remaining=5)
    await dead.reserve(item, 7, 1, 1, reference="7:a")
    await alive.reserve(item, 8, 1, 1, reference="8:a")
    _stop_beating(dead)
    await _until_dead(alive, dead.worker_id)

    stale = await alive.stale_pending(item, older_than=60, dead=await alive.dead_workers())

    assert [r["token"] for r in stale] == ["7:a"]
    assert await alive.settle_stale(item, stale[0], committed=False) is True
    assert await alive.settle_stale(item, stale[0], committed=False) is False
    assert await alive.remaining(item) == 4
    await alive.forget_workers({dead.worker_id})
    assert await alive.dead_workers() == set()


async def test_a_worker_wrongly_taken_for_dead_takes_its_units_back_on_confirm(two_workers,
                                                                               database):
    # Given a worker cut off from Redis longer than its TTL (its key gone) while its order is
    # being committed, and another worker that released its reservation meanwhile
    cut_off, other = two_workers
    item = database.add(remaining=3)
    reservation = await cut_off.reserve(item, 7, 1, 1, reference="7:a")
    _stop_beating(cut_off)
    await _until_dead(other, cut_off.worker_id)
    assert await other.reclaim_orphan(item, "7:a", _never()) is True
    assert await other.remaining(item) == 3

    # When its order commits after all and it confirms
    await cut_off.confirm(item, [reservation])

    # Then the gate counts the unit and the buyer again: it agrees with the database
    assert await other.remaining(item) == 2
    assert (await other.reserve(item, 7, 1, 1, reference="7:a")).outcome == "known"
    assert (await other.reserve(item, 7, 1, 1, reference="7:b")).outcome == "over_limit"
    await cut_off.confirm(item, [reservation])  # a second confirm takes nothing more
    assert await other.remaining(item) == 2
