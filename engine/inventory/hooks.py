"""What inventory announces (see `engine.hooks`): a bridge listens, inventory knows no listener.

    stock_moved(session, movements)   movements posted in this unit of work, a list of
                                      (date moved, kind booked as, value change: Decimal)
    lots_received(session, lots)      lots stock was received into in this unit of work, a
                                      list of (lot id, supplier id or None), once each
"""

from engine.hooks import Hook

stock_moved = Hook("stock moved")
lots_received = Hook("lots received")
