"""What the CRM announces (see `engine.hooks`): a bridge listens, the CRM knows no listener.

    opportunity_won(session, actor, opportunity_id, *, contact_id, title, value, currency,
                    won_on, invoice_wanted)
                                  an opportunity was won in this unit of work; with
                                  `invoice_wanted` the ledger's bridge
                                  (engine.bridges.won_invoice) makes it a draft invoice and
                                  names it on the opportunity (`services.attach_invoice`)
"""

from engine.hooks import Hook

opportunity_won = Hook("opportunity won")
