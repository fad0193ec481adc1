"""Researchers in a real browser: Chromium launched once per run, a context per researcher, the
page driven by roles and accessible names, the files a page reads and leaves, and checks of what
it shows against what the service says.

May import (tests/unit/test_house_rules.py holds it): waiting, lifetime, clients, measure, stack,
report, researchers, faults, workloads (the images it uploads) of ``harness``; ``system`` only through its public parts
(``system.contract``, the processes' settings classes, ``system.inference``'s model code), never the
queue's internals (worker, db, circuit, jobstore).
"""

MAY_IMPORT = ('waiting', 'lifetime', 'clients', 'measure', 'stack', 'report', 'researchers', 'faults', 'workloads')
