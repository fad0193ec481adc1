"""Machine shards (make test SHARD=i/n): every selected feature file in exactly one shard, dealt alike everywhere."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import parallel  # noqa: E402

ALL = sorted((ROOT / "features").glob("*.feature"))


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_every_feature_falls_in_exactly_one_shard(count: int):
    timings = json.loads(parallel.SHARD_TIMINGS.read_text())
    shards = [{f.path for f in parallel.machine_shard(f"{i}/{count}", [], timings)} for i in range(1, count + 1)]
    assert sum(len(s) for s in shards) == len(set().union(*shards)) == len(ALL)
    assert shards == [{f.path for f in parallel.machine_shard(f"{i}/{count}", [], timings)} for i in range(1, count + 1)]  # the same deal again


def test_a_tag_selection_shards_only_the_files_it_selects():
    selected = {f.path for i in (1, 2) for f in parallel.machine_shard(f"{i}/2", ["--tags=@parallel"], {})}
    assert selected == {f.path for f in parallel.discover(ALL, ["@parallel"], {})}


@pytest.mark.parametrize("spec", ["0/2", "3/2", "two", "1"])
def test_a_shard_outside_the_range_is_refused(spec: str):
    with pytest.raises(SystemExit):
        parallel.machine_shard(spec, [], {})


def test_the_committed_timings_name_every_feature():
    assert set(json.loads(parallel.SHARD_TIMINGS.read_text())) == {p.stem for p in ALL}


def test_an_option_holding_a_space_after_the_feature_files_goes_back_to_behave():
    features, behave_args = parallel.split_features(["features/chaos.feature", "--name=Every database connection"], ["--tags=@chaos"])
    assert features == ["features/chaos.feature"]
    assert behave_args == ["--tags=@chaos", "--name=Every database connection"]
