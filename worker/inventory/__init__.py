"""The vendor side: what it sells (``InventorySource``), where bookings go (``BookingSink``).

Built in: ``JsonFileInventorySource`` (``spec/inventory.md``) and ``JsonLinesBookingSink``;
vendors plug their own in by dotted path with ``load_plugin``.
"""

from worker.inventory.document import InventoryProblem, InventorySnapshot
from worker.inventory.models import Inventory, Property
from worker.inventory.sink import (
    BookingSink,
    DeliveryError,
    JsonLinesBookingSink,
    booking_record,
    booking_revision,
)
from worker.inventory.source import InventorySource, JsonFileInventorySource, load_plugin

__all__ = [
    "BookingSink",
    "DeliveryError",
    "Inventory",
    "InventoryProblem",
    "InventorySnapshot",
    "InventorySource",
    "JsonFileInventorySource",
    "JsonLinesBookingSink",
    "Property",
    "booking_record",
    "booking_revision",
    "load_plugin",
]
