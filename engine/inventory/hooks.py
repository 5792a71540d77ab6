"""What inventory announces (see `engine.hooks`): a bridge listens, inventory knows no listener.

    stock_moved(session, movements)   movements posted in this unit of work, a list of
                                      (date moved, kind booked as, value change: Decimal)
    lots_received(session, lots)      lots stock was received into in this unit of work, a
                                      list of (lot id, supplier id or None), once each

While `backoffice demo` builds its year of stock (`engine.inventory.demo`), for a module whose
own sample data acts on the stock as the days pass (quality inspects the lots received):

    demo_year_starting(session, items)  the items are made (flushed), no stock is posted yet
    demo_day_starting(session, day, post_queued)
                                        a day begins; a listener that acts on lots calls
                                        post_queued() first (the year queues its movements and
                                        posts them in batches), and what it did to them (a lot
                                        held, released, scrapped, returned) the year reads back
"""

from engine.hooks import Hook

stock_moved = Hook("stock moved")
lots_received = Hook("lots received")
demo_year_starting = Hook("demo year starting")
demo_day_starting = Hook("demo day starting")
