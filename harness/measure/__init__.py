"""What the harness measures and computes: Prometheus endpoints sampled over time, the slot ledger
(the queue's running slots against what each worker says it holds), throughput in the same run,
and the figures and charts made from them.

May import (tests/unit/test_house_rules.py holds it): waiting, clients of ``harness``; ``system``
only through its public parts (``system.contract``, the processes' settings classes,
``system.inference``'s model code), never the queue's internals (worker, db, circuit, jobstore).
"""

MAY_IMPORT = ('waiting', 'clients')
