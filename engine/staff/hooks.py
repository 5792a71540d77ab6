"""What staff announces (see `engine.hooks`): other modules add to it, staff knows none of them.

    leaving_checklist(session, employee_id, items)
                                 a leaver's checklist is being made (`staff leaving`):
                                 a listener appends what its module needs done before they
                                 go to `items`, each a dict {"module": name, "item": text}
                                 (the asset register: "return asset TAG (description)")
"""

from engine.hooks import Hook

leaving_checklist = Hook("leaving checklist")
