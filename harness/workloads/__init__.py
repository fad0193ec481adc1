"""Long or heavy loads measured as a whole: a soak of four researchers keeping the service busy,
and how much of the model's throughput researchers get through the queue.

May import (tests/unit/test_house_rules.py holds it): waiting, lifetime, clients, measure, stack,
report, researchers of ``harness``; ``system`` only through its public parts (``system.contract``,
the processes' settings classes, ``system.inference``'s model code), never the queue's internals
(worker, db, circuit, jobstore).
"""

MAY_IMPORT = ('waiting', 'lifetime', 'clients', 'measure', 'stack', 'report', 'researchers')
