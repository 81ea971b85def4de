"""Household and population register: services (the only writers), search, visits, statistics.

The row hooks that keep the local search index current are installed per Store
(db.store.Store calls db.register.index.install_hooks), not by importing this package.
"""
