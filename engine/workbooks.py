"""Imports each module's sheet specs so they register themselves."""

import engine.contacts.sheets  # noqa: F401
