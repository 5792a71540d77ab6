"""FIFO and moving-average costing against a worked textbook example.

Source: Weygandt, Kimmel and Kieso, *Financial Accounting* (IFRS and US editions),
chapter "Inventories", appendix "Inventory Cost Flow Methods in Perpetual Inventory
Systems": Houston Electronics' Astro condensers.

    Jan 1   beginning inventory  100 units at $10  =  $1,000
    Apr 15  purchase             200 units at $11  =  $2,200
    Aug 24  purchase             300 units at $12  =  $3,600
    Sep 10  sale                 550 units
    Nov 27  purchase             400 units at $13  =  $5,200

Perpetual FIFO: cost of goods sold $6,200, ending inventory $5,800 (50 at $12 + 400 at $13).
Moving average: after Aug 24, 600 units cost $6,800, average $11.333; the sale costs $6,233
(rounded in the book); ending inventory 450 units, $5,767.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from engine.inventory import valuation
from engine.inventory.valuation import Layer, NotEnoughStock


def test_fifo_matches_the_textbook_houston_electronics_example():
    layers = [Layer(1, D(100), D(10)), Layer(2, D(200), D(11)), Layer(3, D(300), D(12))]
    cost, taken = valuation.fifo_issue(layers, D(550))
    assert cost == D(6200)
    assert taken == [(1, D(100)), (2, D(200)), (3, D(250))]
    ending = D(50) * 12 + D(400) * 13     # what is left of layer 3, and the Nov 27 purchase
    assert ending == D(5800)


def test_moving_average_matches_the_textbook_houston_electronics_example():
    quantity, value = D(600), D(1000) + D(2200) + D(3600)        # after the Aug 24 purchase
    assert valuation.average_cost(quantity, value).quantize(D("0.001")) == D("11.333")
    cost = valuation.average_issue(quantity, value, D(550))
    assert cost.quantize(D(1)) == D(6233)                        # the book's figure
    quantity, value = quantity - 550, value - cost
    quantity, value = quantity + 400, value + D(400) * 13        # Nov 27
    assert (quantity, value.quantize(D(1))) == (D(450), D(5767))


def test_issuing_everything_takes_exactly_the_value_left():
    assert valuation.average_issue(D(3), D(10), D(3)) == D(10)
    assert valuation.average_issue(D(3), D(10), D(1)) == D("3.3333")


def test_more_than_there_is_cannot_be_issued():
    with pytest.raises(NotEnoughStock):
        valuation.fifo_issue([Layer(1, D(5), D(2))], D(6))
    with pytest.raises(NotEnoughStock):
        valuation.average_issue(D(5), D(10), D(6))
