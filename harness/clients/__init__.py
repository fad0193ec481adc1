"""Clients of the system's public interfaces: the queue's HTTP API, its live events (WebSocket),
the inference server.  They speak docs/api.md and nothing else: no SQL, no process handles.

May import (tests/unit/test_house_rules.py holds it): waiting of ``harness``; ``system`` only
through its public parts (``system.contract``, the processes' settings classes,
``system.inference``'s model code), never the queue's internals (worker, db, circuit, jobstore).
"""

MAY_IMPORT = ('waiting',)
