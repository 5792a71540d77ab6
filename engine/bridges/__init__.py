"""Bridges: code that needs two business modules, so that neither imports the other.

A bridge is declared by a module's `register` (`registry.bridge(name, needs, install)`) and
installed by the composition root only when every module it needs is switched on.

    perpetual_inventory   inventory + ledger: each posted stock movement's value to the books
                          (setting `ledger.perpetual_inventory`)
"""
