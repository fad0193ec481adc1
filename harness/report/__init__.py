"""What the run leaves for people: Allure attachments (figures, timelines, logs, the run's facts)
and the Allure formatter behave writes results with.

May import (tests/unit/test_house_rules.py holds it): measure, stack of ``harness``; ``system`` only
through its public parts (``system.contract``, the processes' settings classes,
``system.inference``'s model code), never the queue's internals (worker, db, circuit, jobstore).
"""

MAY_IMPORT = ('measure', 'stack')
