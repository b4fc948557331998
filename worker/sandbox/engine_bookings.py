"""The real engine's booking, closure and change-log objects, built from the sandbox's state.

Copied from the transcripts: ids and amounts as strings, ``guest_data`` keys with the ``enc_``
prefix (decrypted values despite it), ``mapping`` with ``linked_bookings`` only for a push whose
link row still exists (``[]`` otherwise), closures as bookings of referrer ``Jomres`` created at
``1970-01-01 00:00:01``, and change-log events with the webhook that logged them (``channel_data``
``[]`` for events of the hotel's own site). Pure functions of the domain objects.
"""

from __future__ import annotations

from typing import Any

from worker.sandbox import dictionaries as dicts
from worker.sandbox.store_bookings import STATUS_TEXT, BlackBooking, Booking, Event

BLACK_CREATED = "1970-01-01 00:00:01"
BLACK_CURRENCY = "GBP"  # the real site's closures carry its default currency, not the property's
_STATUS_TEXT = {**STATUS_TEXT, 3: "Approved "}  # sic: the real text ends with a space
_DESCRIPTIONS = {
    "property_created": "Logs when a new property is created.",
    "room_added": "Logs when a room is added.",
    "room_updated": "Logs when a room is updated.",
    "tariffs_updated": "Logs when tariffs updated.",
    "property_settings_updated": "Logs when property settings are updated.",
    "booking_added": "Logs when a booking is added.",
    "booking_modified": "Logs when a booking is modified.",
    "booking_cancelled": "Logs when a booking is cancelled.",
    "blackbooking_created": "Logs when black bookings are created.",
    "invoice_created": "Logs when an invoice is created.",
    "invoice_updated": "Logs when an invoice is updated.",
    "invoice_cancelled": "Logs when an invoice is marked as cancelled.",
    "property_state_change": "A catchall webhook notification which notes that the property state "
    "has changed. Primarily designed for caching features to remove/refresh cache elements",
}


_NO_PLUGIN = frozenset({"property_state_change"})  # its webhook names no plugin


def _status(code: int) -> dict[str, Any]:
    return {"status_code": code, "status_text": _STATUS_TEXT[code]}


def _guest(booking: Booking) -> dict[str, Any]:
    return {
        "guest_id": str(booking.guest_id), "guest_system_id": str(booking.guest_id + 1),
        "enc_firstname": booking.firstname, "enc_surname": booking.surname, "enc_house": "",
        "enc_street": booking.street, "enc_city": "", "enc_region": "",
        "country": dicts.COUNTRY_NAMES.get(booking.country_code, False),
        "country_code": booking.country_code, "enc_postcode": booking.postcode,
        "enc_preferences": "", "enc_tel_landline": booking.tel_mobile,
        "enc_tel_mobile": booking.tel_mobile, "enc_email": booking.email,
    }  # fmt: skip


def _empty_guest() -> dict[str, Any]:
    names = ("enc_firstname", "enc_surname", "enc_house", "enc_street", "enc_city", "enc_region")
    tail = ("enc_postcode", "enc_preferences", "enc_tel_landline", "enc_tel_mobile", "enc_email")
    return {"guest_id": None, "guest_system_id": None, **dict.fromkeys(names, ""),
            "country": False, "country_code": "", **dict.fromkeys(tail, "")}  # fmt: skip


def booking_object(booking: Booking) -> dict[str, Any]:
    """One booking of ``GET list/bookings``."""
    mapping: Any = []
    if booking.link_id and booking.link_remote_id is not None:
        mapping = {"linked_bookings": {"channel_id": str(booking.channel_id),
                                       "remote_booking_id": booking.link_remote_id,
                                       "local_booking_id": str(booking.booking_id)}}  # fmt: skip
    return {
        "booking_id": str(booking.booking_id), "booking_number": booking.booking_number,
        "invoice_id": str(booking.invoice_id) if booking.invoice_id else None,
        "invoice_number": str(booking.invoice_number) if booking.invoice_id else None,
        "comments": booking.comments, "status": _status(booking.status_code),
        "property_uid": str(booking.property_uid), "booking_created": booking.booking_created,
        "last_modified": booking.last_modified, "date_from": booking.date_from,
        "date_to": booking.date_to, "booking_total": booking.booking_total,
        "deposit_amount": booking.booking_total, "deposit_paid": False,
        "currency_code": booking.currency_code, "referrer": booking.referrer, "mapping": mapping,
        "guest_numbers": {"adults": 0, "children": 0,
                          "number_of_guests": booking.adults + booking.children},
        "room_types_booked": [], "guest_data": _guest(booking),
    }  # fmt: skip


def black_object(black: BlackBooking) -> dict[str, Any]:
    """A closure as ``GET list/bookings`` lists it."""
    return {
        "booking_id": str(black.contract_id), "booking_number": black.booking_number,
        "invoice_id": None, "invoice_number": None, "comments": black.text,
        "status": _status(6 if black.cancelled else 3), "property_uid": str(black.property_uid),
        "booking_created": BLACK_CREATED, "last_modified": black.last_modified,
        "date_from": black.date_from, "date_to": black.date_to, "booking_total": "0.00",
        "deposit_amount": "0.00", "deposit_paid": False, "currency_code": BLACK_CURRENCY,
        "referrer": "Jomres", "mapping": [],
        "guest_numbers": {"adults": 0, "children": 0, "number_of_guests": 2},
        "room_types_booked": [], "guest_data": _empty_guest(),
    }  # fmt: skip


def event_object(event: Event) -> dict[str, Any]:
    """One change-log event; ``channel_data`` is ``[]`` for the hotel site's own events."""
    channel: Any = []
    if event.channel_name:
        channel = {"channel_id": event.channel_id, "channel_name": event.channel_name,
                   "user_id": event.user_id}  # fmt: skip
    extra = {k: v for k, v in event.data.items() if k != "task"}
    task = {} if event.data.get("task") is False else {"task": event.action}  # sic: some lack it
    data = {"property_uid": event.property_uid, **extra, **task, "manager_id": event.user_id}
    return {
        "event_id": str(event.event_id), "property_uid": str(event.property_uid),
        "user_id": str(event.user_id), "action": event.action, "date": event.date,
        "webhook_event": {
            "webhook_event": event.action,
            "webhook_event_description": _DESCRIPTIONS.get(event.action, ""),
            **({} if event.action in _NO_PLUGIN else {"webhook_event_plugin": "core"}),
            "data": data,
        },
        "channel_data": channel,
    }  # fmt: skip
