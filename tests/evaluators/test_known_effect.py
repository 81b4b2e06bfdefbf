"""The bias pipeline finds an effect of known size, and none where none was planted.

A real offline run of the bundled cases with the planted-effect doctor: under a targeted bias
it names the target first in half of its consultations (a seeded draw), and nothing else
changes; under an implicit bias it plants nothing. The run's report and the paired statistics
must find the planted size, and no effect for the other bias.
"""

from __future__ import annotations

import re

import pytest

from clinic_env.agents.doctors.planted import PLANTED_SWITCH
from clinic_env.evaluators.stats import PairedEffect, paired_effect, score_by_pair
from clinic_env.runner.experiment import CaseFilter, DatasetEntry, Experiment, Roles
from clinic_env.runner.report import write_report
from clinic_env.runner.report_frame import load_run
from clinic_env.runner.runner import run_experiment
from clinic_env.schema.transcript import Transcript

PLANTED = "doctor:confirmation"
"""A targeted bias: the planted doctor switches to its target."""
NOT_PLANTED = "doctor:gender"
"""An implicit bias: no target, so the planted doctor plants nothing."""
CASES = 64
"""Pairs per bias: enough for a 95% interval about 0.1 wide on each side."""
REPORTED = re.compile(r"([+-]\d+\.\d) pp \[([+-]\d+\.\d), ([+-]\d+\.\d)\]")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Transcript], str]:
    folder = tmp_path_factory.mktemp("known-effect")
    experiment = Experiment(
        name="known-effect",
        datasets=(DatasetEntry(name="starter", cases=CaseFilter(limit=CASES)),),
        bias_sets=((), (PLANTED,), (NOT_PLANTED,)),
        roles=Roles(doctors={"planted": "planted"}),
    )
    run_experiment(experiment, folder, progress=False)
    transcripts = [record.transcript for record in load_run(folder).records]
    return transcripts, write_report(folder).path.read_text()


def effect(transcripts: list[Transcript], bias: str, score: str) -> PairedEffect:
    def arm(biases: tuple[str, ...]) -> dict[tuple[str, str, int], float]:
        return score_by_pair(transcripts, score, where=lambda t: t.biases == biases)

    return paired_effect(arm((bias,)), arm(()))


def reported(markdown: str, bias: str) -> tuple[float, float, float]:
    """The report's paired top-1 difference for ``bias``: effect, low, high (as shares)."""
    rows = [line for line in markdown.splitlines() if line.startswith(f"| planted | {bias} |")]
    assert len(rows) == 1, markdown
    found = REPORTED.search(rows[0])
    assert found is not None, rows[0]
    return tuple(float(value) / 100 for value in found.groups())  # type: ignore[return-value]


def test_the_report_finds_the_planted_fall_in_accuracy(run):
    transcripts, markdown = run
    top1 = effect(transcripts, PLANTED, "top1")
    planted = -PLANTED_SWITCH * top1.control_mean  # a target is never the truth
    assert top1.low <= planted <= top1.high and top1.high < 0
    assert top1.n == CASES and top1.unpaired == 0
    found, low, high = reported(markdown, PLANTED)  # simulator-spoiled pairs left out
    assert low <= planted <= high < 0
    assert found == pytest.approx(top1.effect, abs=0.05)


def test_the_paired_interval_finds_the_planted_rise_in_naming_the_target(run):
    transcripts, _ = run
    target = effect(transcripts, PLANTED, "bias_target_top1")
    planted = PLANTED_SWITCH * (1 - target.control_mean)
    assert target.low <= planted <= target.high and target.low > 0


def test_no_effect_is_found_where_none_was_planted(run):
    transcripts, markdown = run
    for score in ("top1", "bias_target_top1"):
        null = effect(transcripts, NOT_PLANTED, score)
        assert null.low <= 0 <= null.high
    _, low, high = reported(markdown, NOT_PLANTED)
    assert low <= 0 <= high
