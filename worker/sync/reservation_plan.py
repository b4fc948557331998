"""Pure decisions of the reservations job: what one OTA reservation needs next.

A reservation must never reach the site twice (``reservations/add`` does not deduplicate), and a
cancellation is sent only for a reservation that was pushed. The state record says where each
reservation stands; where it cannot be sure (no record, or an ``intent`` left by a crash) the job
asks ``booking/link`` before acting. The decision table:

=========== ========================================== =====================================
inventory   state                                      step
=========== ========================================== =====================================
confirmed   none, intent                               PUSH (booking_link first, then add)
confirmed   failed, content changed since              PUSH
confirmed   failed, same content                       NOTHING (it was rejected; say so once)
confirmed   pushed, cancel_intent, cancelled           NOTHING
cancelled   pushed, cancel_intent                      CANCEL
cancelled   none, intent                               CHECK_THEN_CANCEL (booking_link decides)
cancelled   failed                                     NEVER_PUSHED (the site refused it)
cancelled   cancelled                                  NOTHING
=========== ========================================== =====================================
"""

from __future__ import annotations

import hashlib
from enum import Enum

from worker.api.models import GuestInfo, Reservation, StayInfo
from worker.inventory.models import Reservation as VendorReservation
from worker.state import ReservationStatus


class Step(Enum):
    NOTHING = "nothing"
    PUSH = "push"
    CANCEL = "cancel"
    CHECK_THEN_CANCEL = "check_then_cancel"
    NEVER_PUSHED = "never_pushed"


def to_api(property_uid: int, reservation: VendorReservation) -> Reservation:
    """The ``reservations/add`` item for a vendor reservation (one stay, ``date_to`` last night)."""
    guest = reservation.guest
    return Reservation(
        remote_reservation_id=reservation.id,
        referrer=reservation.referrer,
        comments="",
        guest_info=GuestInfo(
            name=guest.name,
            surname=guest.surname,
            email=guest.email,
            phone=guest.phone,
            address=guest.address,
            post_code=guest.post_code,
            country_code=guest.country_code,
            language_id=guest.language_id,
        ),
        stay_infos=[
            StayInfo(
                property_id=property_uid,
                date_from=reservation.date_from,
                date_to=reservation.date_to,
                room_type_id=reservation.room_type_id,
                guest_number=reservation.guests,
                client_price=reservation.client_price,
                channel_price=reservation.channel_price,
                already_paid=reservation.already_paid,
            )
        ],
    )


def content_digest(item: Reservation) -> str:
    """A fingerprint of what would be sent: a rejected reservation is retried only if it changes."""
    return hashlib.sha256(item.model_dump_json().encode()).hexdigest()[:32]


def next_step(
    wanted: str,
    status: ReservationStatus | None,
    *,
    digest: str,
    rejected_digest: str | None = None,
) -> Step:
    """The decision table of the module docstring."""
    if wanted == "confirmed":
        return _confirmed(status, digest, rejected_digest)
    if status in ("pushed", "cancel_intent"):
        return Step.CANCEL
    if status in (None, "intent"):
        return Step.CHECK_THEN_CANCEL
    if status == "failed":
        return Step.NEVER_PUSHED
    return Step.NOTHING


def _confirmed(status: ReservationStatus | None, digest: str, rejected: str | None) -> Step:
    if status in (None, "intent"):
        return Step.PUSH
    if status == "failed" and digest != rejected:
        return Step.PUSH
    return Step.NOTHING
