"""One bad reservation is held with its field path; its property's prices and other reservation
still go out (issue 12, "Bad records are isolated")."""

from __future__ import annotations

from structlog.testing import capture_logs

from tests.sync.support import Harness, day, reservation, seaside

BAD_PATH = "properties[0].reservations[1].room_type_id"


def with_prices(price: str, *reservations: dict[str, object]) -> dict[str, object]:
    """Seaside 1001 priced ``price`` for the next ten nights, with these reservations."""
    rates = [{"date_from": day(0), "date_to": day(10), "price": price}]
    return seaside("1001", rates=rates, reservations=list(reservations))


async def test_a_bad_reservation_does_not_freeze_its_property(harness: Harness) -> None:
    """Unknown room type: reported at its path and skipped; the new price and OTA-2 are pushed."""
    harness.write_inventory(with_prices("120.00", reservation("OTA-1", 5)))
    first = await harness.run_all()
    assert all(result.ok for result in first.values())
    uid = harness.context.owned.items()[0][0]
    bad = {**reservation("OTA-BAD", 8), "room_type_id": 99}
    harness.write_inventory(
        with_prices("135.00", reservation("OTA-1", 5), bad, reservation("OTA-2", 2))
    )
    harness.sandbox.journal.clear()
    with capture_logs() as logs:
        results = await harness.run_all()
    (invalid,) = [e for e in logs if e["event"] == "inventory.invalid"]
    assert invalid["field"] == BAD_PATH
    assert "no room with room_type_id 99" in invalid["error"]
    assert "held: this reservation is skipped" in invalid["error"]
    assert results["ari"].counts["held"] == 0  # the property is not held, only the record
    assert harness.writes_to("property/prices")
    assert harness.sandbox.store.calendar(uid, day(3), day(3))[day(3)]["price"] == "135.00"
    assert results["reservations"].counts["pushed"] == 1
    pushed = {b["booking_number"] for b in harness.site_bookings(uid)}
    assert len(pushed) == 2  # OTA-1 from the first run, OTA-2 now; never OTA-BAD
    snapshot = await harness.context.source.load()
    assert [p.path for p in snapshot.problems] == [BAD_PATH]
    assert [r.id for r in snapshot.properties[0].reservations] == ["OTA-1", "OTA-2"]
