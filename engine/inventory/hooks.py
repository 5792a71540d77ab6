"""What inventory announces (see `engine.hooks`): a bridge listens, inventory knows no listener.

    stock_moved(session, movements)   movements posted in this unit of work, a list of
                                      (date moved, kind booked as, value change: Decimal)
"""

from engine.hooks import Hook

stock_moved = Hook("stock moved")
