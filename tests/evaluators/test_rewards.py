from pathlib import Path

import pytest

from clinic_env.content import load_yaml_model
from clinic_env.errors import ContentError, UnknownNameError
from clinic_env.evaluators.rewards import RewardSpec, load_reward_spec, reward_specs


def test_bundled_specs_load():
    specs = reward_specs()
    assert {"default", "doctoragent_rl"} <= set(specs)


def test_breakdowns_are_weight_times_signal():
    spec = load_reward_spec("doctoragent_rl")
    turn = spec.turn_breakdown({"invalid": 1.0, "answered": 0.0})
    assert turn["invalid"] == -2.0 and turn["answered"] == 0.0
    end = spec.end_breakdown({"top1": 1.0, "out_of_turns": 0.0})
    assert end == {"end.out_of_turns": -0.0, "end.top1": 5.0}


def test_unknown_spec_and_unknown_signal(tmp_path: Path):
    with pytest.raises(UnknownNameError, match="default"):
        load_reward_spec("nope")
    path = tmp_path / "bad.yaml"
    path.write_text("id: bad\nsummary: x\nturn:\n  vibes: 1.0\n")
    with pytest.raises(ContentError, match=r"bad.yaml:4 \(field turn.vibes\)"):
        load_yaml_model(path, RewardSpec)
