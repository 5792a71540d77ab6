"""Imports each module's sheet specs so they register themselves."""

import engine.contacts.sheets  # noqa: F401
import engine.inventory.sheets  # noqa: F401
import engine.ledger.sheets  # noqa: F401
import engine.staff.sheets  # noqa: F401
