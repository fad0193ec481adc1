"""Training is reproducible: the same command gives byte-identical weights."""

from __future__ import annotations

import hashlib
import subprocess
import sys


def test_the_same_training_command_gives_the_same_weights(tmp_path):
    digests = []
    for run in ("a", "b"):
        out = tmp_path / run
        subprocess.run(
            [sys.executable, "-m", "system.inference.train", "--models", "unet", "--images", "32", "--scenes", "32", "--steps", "6",
             "--batch", "4", "--eval-images", "2", "--out", str(out)],
            check=True, capture_output=True, timeout=300,
        )
        digests.append(hashlib.sha256((out / "unet.pt").read_bytes()).hexdigest())
    assert digests[0] == digests[1]
