"""Faults, and how the service comes back from them: the fault proxy between the services, the
inference server's test-only faults, halted processes, the catalogue of outages a scenario
names, the window a fault lasted and the recovery figures.

May import (tests/unit/test_house_rules.py holds it): waiting, lifetime, clients, measure, stack,
report, researchers of ``harness``; ``system`` only through its public parts (``system.contract``,
the processes' settings classes, ``system.inference``'s model code), never the queue's internals
(worker, db, circuit, jobstore).
"""

MAY_IMPORT = ('waiting', 'lifetime', 'clients', 'measure', 'stack', 'report', 'researchers')
