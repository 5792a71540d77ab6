"""Backoffice engine: the database, services and workbook round trip behind the `backoffice` command."""

__version__ = "0.1.0"
