"""Household and population register: services (the only writers), search, visits, statistics.

Importing this package installs the row hooks that keep the local search index current.
"""

from db.register.index import install_hooks

install_hooks()
