"""Reservations pushed by the channel, booking links, booking lists and change logs (spec §3.7).

Thin handlers over ``store.reservations``, each in the real engine's behaviour (the default) or the
older servers' (legacy)."""

from __future__ import annotations

from typing import Any

from worker.sandbox.forms import invalid, parse_json
from worker.sandbox.php import intval
from worker.sandbox.routes_base import Call, Endpoint


def add_reservations(call: Call) -> dict[str, Any]:
    document = parse_json(call.form, "reservations", dict)
    items = document.get("reservations")
    if not isinstance(items, list):
        raise invalid('reservations must hold a JSON list under "reservations"')
    return call.store.reservations.add_reservations(call.channel_ref, items, engine=call.engine)


def cancel_reservations(call: Call) -> dict[str, Any]:
    remote_ids = parse_json(call.form, "reservation_ids", list)
    return call.store.reservations.cancel_reservations(
        call.channel_ref, remote_ids, engine=call.engine
    )


def booking_link(call: Call) -> dict[str, Any]:
    remote_id = call.param("remote_reservation_id")
    return call.store.reservations.booking_link(
        call.channel_ref, call.owned, remote_id, engine=call.engine
    )


def relink(call: Call) -> dict[str, Any]:
    """``PUT booking/link``: point a booking's link row at another remote id."""
    local = intval(call.form.get("local_booking_id", ""))
    return call.store.reservations.relink(
        call.channel_ref, call.owned, call.form.get("remote_booking_id", ""), local
    )


def list_bookings(call: Call) -> list[dict[str, Any]]:
    return call.store.reservations.list_bookings(call.channel_ref, call.owned, engine=call.engine)


def change_logs(call: Call) -> Any:
    if call.engine:  # the real engine's answer, encoded once until it changes
        return call.store.change_log_answers.encoded(call.channel_ref)
    return call.store.reservations.change_logs(call.channel_ref)


ENDPOINTS = (
    Endpoint("PUT", "/cmf/reservations/add", add_reservations,
             legacy_failure=("response", "message")),
    Endpoint("PUT", "/cmf/reservations/cancel", cancel_reservations,
             legacy_failure=("response", "message")),
    Endpoint("GET", "/cmf/property/booking/link/{property_uid}/{remote_reservation_id}",
             booking_link, property_from="path"),
    Endpoint("PUT", "/cmf/property/booking/link", relink, property_from="form"),
    Endpoint("GET", "/cmf/property/list/bookings/{property_uid}", list_bookings,
             property_from="path"),
    Endpoint("GET", "/cmf/properties/change/logs", change_logs),
)  # fmt: skip
