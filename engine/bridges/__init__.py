"""Bridges: code that needs two business modules, so that neither imports the other.

A bridge is declared by a module's `register` (`registry.bridge(name, needs, install)`) and
installed by the composition root only when every module it needs is switched on.

    perpetual_inventory   inventory + ledger: each posted stock movement's value to the books
                          (setting `ledger.perpetual_inventory`)
    asset_depreciation    admin + ledger: the asset register's purchases, monthly depreciation
                          and disposals to the books (setting `admin.post_depreciation`)

Quality is built on inventory, so its listeners live in the quality module itself and are
declared there as bridges (connected only when both are on):

    inspection_on_receipt inventory's `lots_received` -> `engine.quality.services.hold_for_inspection`
    demo_inspections      the inventory demo's days -> the quality demo's plans and inspections
"""
