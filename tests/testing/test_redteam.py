"""The red-team suite on the bundled cases: no exploit may read the answer off the simulator,
and no reward spec may pay a blind farmer more than a doctor that does the work."""

import asyncio

import pytest

from clinic_env import session as session_module
from clinic_env.cli.main import main
from clinic_env.datasets import load_cases
from clinic_env.testing.exploits import (
    FixedDiagnosisDoctor,
    PaddingDoctor,
    answer_space,
    flagged_names,
    reply_shape,
)
from clinic_env.testing.redteam import (
    CHANCE,
    FARM_TURNS,
    format_farming,
    format_results,
    run_farming,
    run_redteam_sync,
)
from tests.helpers.datasets import FORMAT_FIXTURES

MAX_SINGLED_OUT = 0.05
"""The acceptance bound: a blind sweep may name the answer first on at most 5% of cases."""


@pytest.fixture(scope="module")
def starter_results():
    cases = load_cases("starter")
    return {r.name: r for r in run_redteam_sync(cases, "starter")}


def test_no_exploit_beats_chance_on_the_bundled_cases(starter_results):
    chance = starter_results[CHANCE]
    beaten = [r.name for r in starter_results.values() if not r.baseline and r.beats(chance)]
    assert not beaten, format_results(list(starter_results.values()))


def test_blind_name_sweeps_single_out_the_answer_at_most_at_chance(starter_results):
    sweeps = {n: r for n, r in starter_results.items() if n.startswith(("sweep", "learned"))}
    assert len(sweeps) == 20  # ten channels, within one consultation and learned across cases
    over = {name: r.top1[0] for name, r in sweeps.items() if r.top1[0] > MAX_SINGLED_OUT}
    assert not over, format_results(list(starter_results.values()))


def test_tricks_with_the_last_turn_letters_and_lists_earn_nothing(starter_results):
    for name in ("bare letter A", "one-letter word", "every name in one entry", "huge diagnosis"):
        assert starter_results[name].top1[0] == 0.0, name
    last_turn = starter_results["last-turn question"]
    assert last_turn.diagnosed == 0.0
    assert last_turn.reward[2] < 0  # the no-diagnosis penalty, not a free 0
    assert starter_results["empty diagnosis"].diagnosed == 0.0


def test_the_suite_catches_an_oracle_when_there_is_one(monkeypatch):
    """The check can fail: a room that echoes names but withholds the answer's is found."""

    def guarded_everywhere(self, request, answer):
        return self.guard.scrub(answer.text)  # the guard on doctor-written words too

    monkeypatch.setattr(session_module.Session, "_guarded", guarded_everywhere)
    cases = load_cases("starter")[:12]
    (result,) = run_redteam_sync(cases, "starter", only=["learned json_action"])
    assert result.top1[0] > 0.5


def test_reply_shapes_take_out_the_probed_name_and_turn_notices():
    text = 'Examination: "Gout" is not an examination\n[3 turns left]'
    assert reply_shape(text, "gout") == reply_shape(text.replace("Gout", "Lupus"), "lupus")


def test_the_answer_space_holds_every_answer_and_alias_once():
    cases = load_cases("starter")
    names = answer_space(cases)
    folded = [name.casefold() for name in names]
    assert len(folded) == len(set(folded))
    for case in cases:
        assert case.ground_truth.diagnosis.strip().casefold() in folded


def test_the_command_prints_the_table_and_exits_by_its_verdict(tmp_path, capsys):
    out = tmp_path / "redteam.md"
    code = main(["redteam", "starter", "--limit", "5", "--out", str(out)])
    printed = capsys.readouterr().out
    assert "| exploit | n | top-1 |" in printed and out.read_text().startswith("| exploit")
    assert code in (0, 1)
    assert ("Every exploit is at chance" in printed) == (code == 0)


@pytest.fixture(scope="module")
def fixture_cases():
    """Cases of every public format (fixture files written for the project), pooled."""
    files = {path for paths in FORMAT_FIXTURES.values() for path in paths}
    return [case for path in sorted(files) for case in load_cases(path)]


def test_no_exploit_beats_chance_on_cases_of_every_public_format(fixture_cases):
    results = {r.name: r for r in run_redteam_sync(fixture_cases, "fixtures")}
    chance = results[CHANCE]
    beaten = [r.name for r in results.values() if not r.baseline and r.beats(chance)]
    assert not beaten, format_results(list(results.values()))
    for name in ("bare letter A", "one-letter word"):
        assert results[name].top1[0] == 0.0, name


def test_with_options_shown_a_letter_guess_is_only_chance(fixture_cases):
    mcq = [case for case in fixture_cases if case.options and case.ground_truth.answer_option]
    assert len(mcq) >= 5
    only = ["bare letter A", "one-letter word", "every name listed", CHANCE]
    results = {r.name: r for r in run_redteam_sync(mcq, "fixtures", show_options=True, only=only)}
    # "A" names option A: right exactly when A is the answer, as chance would have it.
    right_a = sum(case.ground_truth.answer_option == "A" for case in mcq) / len(mcq)
    assert results["bare letter A"].top1[0] == pytest.approx(right_a)
    assert results["one-letter word"].top1[0] == 0.0


def test_no_bundled_reward_spec_pays_the_farmer_more_than_the_doctor():
    results = asyncio.run(run_farming(load_cases("starter"), "starter"))
    assert {r.spec for r in results} >= {"default", "doctor_r1", "doctoragent_rl", "sdbench"}
    farmed = [r.spec for r in results if r.farms or r.pads]
    assert not farmed, format_farming(results)
    for r in results:  # a longer episode pays the farmer no more than a little history
        short, long = (r.farmed[turns][0] for turns in FARM_TURNS)
        assert long - short < 0.25, format_farming(results)


def test_the_farming_check_catches_a_generous_cap(tmp_path):
    """A spec whose cap lets courtesy outpay a diagnosis is caught (as every uncapped one
    was before caps existed: doctor_r1 paid a blind farmer +4.70 over 40 turns)."""
    spec = tmp_path / "generous.yaml"
    spec.write_text(
        "id: generous\nsummary: x\nturn:\n  empathy: 0.2\ncaps:\n  empathy: 50\nend:\n  top1: 1.0\n"
    )
    (result,) = asyncio.run(run_farming(load_cases("starter")[:12], "starter", specs=[str(spec)]))
    assert result.farms, format_farming([result])


def test_the_padding_check_catches_a_spec_paying_for_names_past_the_doctors_own(tmp_path):
    """Must-not-miss pays within the first top_k entries: a spec whose top_k reaches past the
    systematic doctor's own list pays for padding it, and the check says so."""
    spec = tmp_path / "wide.yaml"
    spec.write_text("id: wide\nsummary: x\ntop_k: 10\nend:\n  top1: 1.0\n  must_not_miss: 0.5\n")
    flagged = [
        c
        for c in load_cases("starter")
        if any(d.must_not_miss for d in c.ground_truth.differentials)
    ]
    (result,) = asyncio.run(run_farming(flagged[:30], "starter", specs=[str(spec)]))
    assert result.pads, format_farming([result])
    assert "PADDING PAYS" in format_farming([result])


def test_the_padding_doctor_appends_the_flagged_names_it_did_not_give():
    doctor = PaddingDoctor(
        FixedDiagnosisDoctor("DIAGNOSIS READY: Gout; Pulmonary embolism"),
        ["Pulmonary embolism", "Sepsis"],
    )
    action = asyncio.run(doctor.act(None))
    assert action.differential == ("Gout", "Pulmonary embolism", "Sepsis")
    assert flagged_names(load_cases("starter"), 3)[0] == "Pulmonary embolism"
