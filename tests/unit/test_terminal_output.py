"""What QA reads in the terminal: only the selected scenarios, located from the project root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import parallel  # noqa: E402


def dry_run(command: list[str]) -> str:
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def check(out: str) -> None:
    assert "features/segmentation.feature:7" in out and "steps/jobs_steps.py:" in out, out[:1500]
    assert out.count("Scenario: A researcher segments a batch of eight images") == 1, "printed other than once"
    assert "# None" not in out, "a scenario the tags left out was printed, its steps located at '# None'"
    assert "Feature: Every model is there" not in out, "a feature with no selected scenario was printed"
    assert "../" not in out, "locations are not from the project root"


def test_behave_ini_prints_what_the_tags_selected(tmp_path):
    """The project's behave.ini (QA's `behave --tags=...`), its outputs moved to a folder of the test's own."""
    ini = (ROOT / "behave.ini").read_text().replace("reports/", f"{tmp_path}/")
    (tmp_path / "behave.ini").write_text(ini)
    check(dry_run([sys.executable, str(ROOT / "scripts" / "behave_with.py"), str(tmp_path), "--dry-run", "--tags=@smoke",
                   "features/models.feature", "features/segmentation.feature"]))


def test_a_shard_prints_from_the_project_root_with_settings_of_its_own(tmp_path):
    features = [parallel.FeatureFile(ROOT / "features" / name, 0, False) for name in ("models.feature", "segmentation.feature")]
    check(dry_run(parallel.behave_command(features, tmp_path, ["--dry-run", "--tags=@smoke"], "terminal")))
    assert (tmp_path / "behave.ini").exists()
