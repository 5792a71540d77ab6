"""Exact decimal columns: quantities and money stored as whole numbers of a fixed fraction.

SQLite has no decimal type: SQLAlchemy's Numeric goes through floats there, and 0.1 + 0.2 of
stock is not 0.3. `Exact(4)` stores 12.3456 as the integer 123456 on every database, so
values come back exactly as written and SUM() in SQL stays exact too. A value with more
decimal places than the column holds is refused, never rounded silently.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, TypeDecorator


class Exact(TypeDecorator[Decimal]):
    impl = BigInteger
    cache_ok = True

    def __init__(self, places: int = 4):
        super().__init__()
        self.places = places

    def process_bind_param(self, value: Any, dialect) -> int | None:
        if value is None:
            return None
        number = value if isinstance(value, Decimal) else Decimal(str(value)) if isinstance(value, int) else None
        if number is None:
            raise TypeError(f"{value!r} is not a Decimal: quantities and money are never floats")
        scaled = number.scaleb(self.places)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {self.places} decimal places")
        return int(scaled)

    def process_result_value(self, value: Any, dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.places)

    @property
    def python_type(self) -> type:
        return Decimal
