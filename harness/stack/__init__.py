"""The system under test on this machine: PostgreSQL by one of three strategies, the queue's API
processes, its workers and the inference servers as child processes on loopback ports, started in
order, stopped by the harness whatever happens (also on SIGINT/SIGTERM and at exit).

May import (tests/unit/test_house_rules.py holds it): waiting, measure of ``harness``; ``system``
only through its public parts (``system.contract``, the processes' settings classes,
``system.inference``'s model code), never the queue's internals (worker, db, circuit, jobstore).
"""

MAY_IMPORT = ('waiting', 'measure')
