"""Simulated researchers and what they do, by plain-language name: accounts and projects of
seeded images, batches, live events, requests they should not be able to make succeed, bursts,
direct use of the inference server, and the checks the steps state rules with.

May import (tests/unit/test_house_rules.py holds it): waiting, lifetime, clients, measure, stack,
report of ``harness``; ``system`` only through its public parts (``system.contract``, the processes'
settings classes, ``system.inference``'s model code), never the queue's internals (worker, db,
circuit, jobstore).
"""

MAY_IMPORT = ('waiting', 'lifetime', 'clients', 'measure', 'stack', 'report')
