"""A receipt's rows are compressed a block at a time: the list reads back whole at every size."""

from __future__ import annotations

import zlib

import orjson
import pytest

from engine.sheets.receipts import _Packed


@pytest.mark.parametrize("count", [1, _Packed.BLOCK - 1, _Packed.BLOCK, _Packed.BLOCK + 1, 3 * _Packed.BLOCK + 7])
def test_the_rows_read_back_as_one_json_list_in_their_order(count):
    rows = [[n, 1000 + n, 1, {"name": f"Person {n}", "vat": "12.50"}] for n in range(count)]
    packed = _Packed()
    for row in rows:
        packed.add(orjson.dumps(row))
    assert orjson.loads(zlib.decompress(packed.done())) == rows
