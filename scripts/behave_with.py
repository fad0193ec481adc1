"""behave with the settings file of another folder, run from the project root.

    python scripts/behave_with.py SETTINGS_DIR [behave arguments ...]

behave reads its settings (``behave.ini``) from the folder it runs in, and
writes every location relative to that folder.  A shard of the parallel runner
(``scripts/parallel.py``) needs settings of its own (its outputs in its own
folder) and locations a person can open from the project root
(``features/chaos.feature:12``, not ``../../../../features/...``), so the
settings are read in SETTINGS_DIR and the run happens where this was started.
"""

from __future__ import annotations

import os
import sys

from behave.__main__ import run_behave
from behave.configuration import Configuration


def main(argv: list[str]) -> int:
    settings_dir, *behave_args = argv
    here = os.getcwd()
    os.chdir(settings_dir)
    try:
        config = Configuration(behave_args)
    finally:
        os.chdir(here)
    return run_behave(config)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
