"""What the mail merge announces (see `engine.hooks`): a bridge listens, mail knows no listener.

    message_sent(session, *, contact_id, channel, run_id, message_id, template, sent_at,
                 started_by)
                                  a message of a run was sent (`channel` email: the transport
                                  took it, with its Message-ID) or printed (`channel` letter:
                                  in the run's letters to print, no Message-ID), announced in
                                  the transaction that marks it so; plain values only. Once
                                  per message, but a listener should still be idempotent
                                  (the CRM logs it as an interaction, keyed on the Message-ID)
"""

from engine.hooks import Hook

message_sent = Hook("message sent")
