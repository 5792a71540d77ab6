"""What the contacts module announces to the modules holding records about a contact.

Other modules refer to contacts; contacts imports none of them. When two contacts are merged
or a person's data is exported or erased, the modules that hold something about the contact
take part through these hooks (each connected by a bridge the module declares in its
`register`), inside the same transaction.
"""

from __future__ import annotations

from engine.hooks import Hook

# Two contacts are being merged (see engine.contacts.merge): listeners find conflicts a person
# must decide and re-point what the foreign-key walk cannot see. Announced as
# `merging(session, actor, keep, drop, plan)`: `keep` and `drop` are the two Contact records,
# `plan` the `engine.contacts.merge.MergePlan`. A listener calls `plan.refuse(field, code,
# message)` for a conflict (the merge is then refused, nothing changed) and `plan.change(table,
# column, rows, apply)` for rows it would change, `apply()` doing it (not called on a dry run;
# `engine.contacts.merge.repoint` re-points a column in bulk, versioned and audited). It runs
# before anything is changed, and must change nothing itself.
merging = Hook("contacts merging")

# A person's data is being erased (see engine.contacts.erasure): listeners say what holds it,
# and remove or anonymise what is theirs. Announced as `erasing(session, actor, plan)`, `plan`
# an `engine.contacts.erasure.ErasurePlan`: a listener reads, and calls `plan.refuse`,
# `plan.hold_name`, `plan.keep`, `plan.delete` or `plan.blank`; it writes nothing itself.
erasing = Hook("contact erasing")

# A person's data is being exported (see engine.contacts.export): announced as
# `exporting(session, actor, contact_id, found)` once the foreign-key walk is done; a listener
# adds to `found` ({table: {id: row as exact JSON values}}) the rows about the person the walk
# cannot see (a mail run's list of skipped contacts, a JSON column).
exporting = Hook("contact exporting")
