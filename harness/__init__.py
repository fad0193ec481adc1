"""The acceptance harness: the machinery the step definitions call.

Rooms, lowest first; each may import only the rooms before it (its
``__init__`` says which, and tests/unit/test_house_rules.py holds it):

==============  ==============================================================
``waiting``     one way to wait: a condition, a bound, and what was seen (module)
``state``       what a scenario carries (``ScenarioState``) and holds until it ends (module)
``clients/``    the queue's HTTP API and live events, the inference server
``measure/``    Prometheus samples, the slot ledger, throughput, figures
``stack/``      PostgreSQL and the system's processes on this machine
``report/``     Allure attachments and formatter
``researchers/`` simulated researchers, their seeded images, misuse, checks
``faults/``     the fault proxy, injected faults, halted processes, outages, recovery
``browser/``    Chromium, the page by roles and names, what it shows
``workloads/``  the soak and the queue's efficiency, measured as a whole
``bdd``         behave's hooks: the run's fixtures, per-scenario state and evidence (module)
==============  ==============================================================
"""
