from pathlib import Path

import pytest

from clinic_env.content import load_yaml_model
from clinic_env.errors import ContentError, UnknownNameError
from clinic_env.evaluators.rewards import RewardSpec, load_reward_spec, reward_specs
from clinic_env.ledger import RewardLedger, TurnFacts


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


def test_every_published_scheme_is_a_spec():
    specs = reward_specs()
    assert {"default", "agentclinic", "doctoragent_rl", "doctor_r1", "sdbench"} <= set(specs)
    assert specs["agentclinic"].reduction == "terminal"
    assert specs["sdbench"].reduction == "episode"


def test_reductions_turn_the_breakdown_into_one_number():
    dense = RewardSpec(id="d", summary="x", turn={"new_facts": 1.0}, end={"top1": 2.0})
    step = {"new_facts": 1.0}
    last = {"new_facts": 1.0, "end.top1": 2.0}
    assert dense.reduce(step, final=False, earlier=0.0) == 1.0
    assert dense.reduce(last, final=True, earlier=5.0) == 3.0
    terminal = dense.model_copy(update={"reduction": "terminal"})
    assert terminal.reduce(step, final=False, earlier=0.0) == 0.0
    assert terminal.reduce(last, final=True, earlier=5.0) == 2.0
    episode = dense.model_copy(update={"reduction": "episode"})
    assert episode.reduce(step, final=False, earlier=0.0) == 0.0
    assert episode.reduce(last, final=True, earlier=5.0) == 8.0


def test_a_spec_file_given_by_path(tmp_path: Path):
    path = tmp_path / "mine.yaml"
    path.write_text("id: mine\nsummary: mine\nreduction: terminal\nend:\n  top1: 3.0\n")
    assert load_reward_spec(str(path)).end == {"top1": 3.0}
    path.write_text("id: mine\nsummary: mine\nreduction: sometimes\n")
    with pytest.raises(ContentError, match=r"mine.yaml:3 \(field reduction\)"):
        load_reward_spec(str(path))


def test_a_turn_part_paid_without_bound_is_refused_naming_its_cap(tmp_path: Path):
    path = tmp_path / "farmable.yaml"
    path.write_text("id: farmable\nsummary: x\nturn:\n  empathy: 0.1\n  new_facts: 0.1\n")
    with pytest.raises(ContentError, match=r"farmable.yaml.*give caps.empathy"):
        load_reward_spec(str(path))
    path.write_text("id: f\nsummary: x\nturn:\n  repeated: -0.1\ncaps:\n  repeated: 1.0\n")
    with pytest.raises(ContentError, match=r"caps\.repeated caps a part the spec does not pay"):
        load_reward_spec(str(path))
    # new facts pay once per case fact, and penalties only ever cost: neither needs a cap
    path.write_text("id: ok\nsummary: x\nturn:\n  new_facts: 0.1\n  question: -0.03\n")
    assert load_reward_spec(str(path)).caps == {}


def test_a_capped_part_pays_up_to_its_cap_and_the_breakdown_shows_what_was_paid():
    spec = RewardSpec(id="c", summary="x", turn={"turn": 0.4, "invalid": -1.0}, caps={"turn": 1.0})
    ledger = RewardLedger(spec)
    turn = TurnFacts("Any cough?", None, True, 0, 0, False, False, 0.0, None)
    paid = [ledger.turn_parts(turn) for _ in range(4)]
    assert [p["turn"] for p in paid] == pytest.approx([0.4, 0.4, 0.2, 0.0])
    bad = TurnFacts("???", None, False, 0, 0, True, False, 0.0, None)
    assert ledger.turn_parts(bad) == {"turn": 0.0, "invalid": -1.0}  # penalties are never capped
