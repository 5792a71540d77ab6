"""What the asset register announces (see `engine.hooks`): a bridge listens (posting to the
books, `engine.bridges.asset_depreciation`), admin knows no listener. Each is announced
inside the operation's unit of work, so a listener that refuses (a closed period) rolls the
operation back.

    asset_acquired(session, asset)        an asset was added to the register
    depreciation_posted(session, month, postings)
                                          the depreciation of `month` (its first day) was
                                          recorded: a list of DepreciationPosting, one per asset
    asset_disposed(session, asset)        an asset was disposed of (its months before the
                                          month of disposal recorded first)
"""

from engine.hooks import Hook

asset_acquired = Hook("asset acquired")
depreciation_posted = Hook("depreciation posted")
asset_disposed = Hook("asset disposed")
