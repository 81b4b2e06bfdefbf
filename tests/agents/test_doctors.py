"""Scripted doctors: the ordering the issue demands on the bundled cases, their incremental
ranking, and the biases they act out as documented."""

import asyncio
import functools
import random
from dataclasses import replace
from itertools import pairwise

import pytest

from clinic_env.agents.base import DoctorObservation
from clinic_env.agents.biasing import BiasUse, confirming_tests
from clinic_env.agents.doctors import (
    PlantedEffectDoctor,
    RandomDoctor,
    ReplayDoctor,
    SystematicDoctor,
    leanings,
)
from clinic_env.agents.doctors.leanings import Leanings
from clinic_env.agents.doctors.ranking import (
    FINDING_COVERAGE,
    DiseaseProfile,
    Evidence,
    positive_stems,
    profiles,
)
from clinic_env.agents.doctors.script import doctor_script
from clinic_env.agents.personas import biases, load_bias
from clinic_env.datasets import find_case, load_cases
from clinic_env.errors import ConfigError, ProtocolError
from clinic_env.runner.batch import Batch, plan_jobs
from clinic_env.schema import Action, ActionKind
from clinic_env.schema.case import Demographics, DoctorView
from clinic_env.session import create_doctor, create_session, run_consultation


def run(doctor: str, seeds=(0,)) -> list:
    jobs = plan_jobs(load_cases("starter"), ["plain"], list(seeds))
    return asyncio.run(Batch(dataset="starter", doctor=doctor).run(jobs))


def mean(transcripts, name: str) -> float:
    return sum(t.score.value(name) for t in transcripts) / len(transcripts)


def test_oracle_scores_top1_on_every_case():
    transcripts = run("oracle")
    assert all(t.score.value("top1") == 1.0 for t in transcripts)


def test_systematic_beats_random_on_top3():
    systematic = run("systematic")
    random_doctor = run("random", seeds=(0, 1, 2))
    assert mean(systematic, "top3") > mean(random_doctor, "top3") + 0.3
    assert all(t.outcome == "diagnosed" for t in systematic)


def test_systematic_doctor_takes_a_history_before_testing():
    transcript = run("systematic")[0]
    kinds = [turn.action.kind for turn in transcript.turns]
    first_test = kinds.index(ActionKind.ORDER_TEST)
    assert kinds[:first_test].count(ActionKind.ASK) >= 8
    assert ActionKind.EXAMINE in kinds[:first_test]


def test_replay_doctor_reproduces_a_transcript():
    original = run("systematic")[0]
    case = next(c for c in load_cases("starter") if c.id == original.case_id)
    session = create_session(case, dataset="starter", persona="plain", seed=0, doctor="systematic")
    replayed = asyncio.run(run_consultation(session, ReplayDoctor(original)))
    assert replayed.model_dump_json() == original.model_dump_json()


# The ranking: incremental evidence must score as a full recount would.


def recount(profile: DiseaseProfile, clinical: set[str], lab: set[str]) -> float:
    """A disease's evidence points counted from scratch: the reference for the index."""

    def holds(stems: frozenset[str], present: set[str]) -> bool:
        shared = len(stems & present)
        return shared > 0 and shared >= FINDING_COVERAGE * len(stems)

    findings = sum(holds(f, clinical) for f in profile.findings)
    return findings + 2.0 * sum(holds(s, lab) for s in profile.supports)


def test_incremental_evidence_scores_as_a_full_recount():
    transcript = run("systematic")[1]
    evidence = Evidence(find_case("starter", transcript.case_id).demographics)
    clinical: set[str] = set()
    lab: set[str] = set()
    texts = [(transcript.opening_observation, False)] + [
        (turn.observation, turn.action.kind is ActionKind.ORDER_TEST) for turn in transcript.turns
    ]
    for text, result in texts:
        evidence.add(text, result=result)
        clinical |= positive_stems(text)
        lab |= positive_stems(text) if result else set()
        points = [recount(profile, clinical, lab) for profile in profiles()]
        assert [evidence.points(i) for i in range(len(points))] == points
    assert max(points) >= 5


# The biases the scripted doctors act out (clinic_env/agents/doctors/leanings.py).

ADULT = Demographics(age_years=40, sex="male", description="40-year-old man")
VIEW = DoctorView(
    case_id="synthetic",
    demographics=ADULT,
    doctor_brief="A 40-year-old man comes in feeling unwell.",
    options=None,
    has_images=False,
)


@functools.cache
def truth_and_target() -> tuple[DiseaseProfile, DiseaseProfile]:
    """Two adult diseases of different specialties with no test in common: the patient has
    the first, the biases point at the second."""
    fit = [
        p
        for p in profiles()
        if "adult" in p.disease.age_groups
        and p.disease.sex == "any"
        and len(p.findings) >= 6
        and len(p.supports) >= 2
    ]
    truth = fit[0]
    target = next(
        p
        for p in fit
        if p.disease.specialty != truth.disease.specialty
        and not set(p.test_names) & set(truth.test_names)
        and not set().union(*p.findings) & set().union(*truth.findings)
    )
    return truth, target


def doctor_use(bias_id: str, target: str | None = None, role: str = "doctor") -> BiasUse:
    bias = load_bias(bias_id)
    return BiasUse(bias, role, target, bias.text(role, target), tests=confirming_tests(target))


def consult(doctor: SystematicDoctor | RandomDoctor, turns: int = 20) -> list[Action]:
    """A consultation with a patient who has the truth: a typical finding per question, its
    supporting results for its tests, nothing on examination or from other tests."""
    truth, _ = truth_and_target()
    findings = list(truth.disease.findings)
    results = {t.test: "; ".join(t.supports) for t in truth.disease.tests}
    text, actions = "Patient: I have not been well.", []
    for turn in range(1, turns + 1):
        action = doctor.decide(DoctorObservation(text, turn, turns - turn + 1, VIEW))
        actions.append(action)
        if action.kind is ActionKind.DIAGNOSE:
            break
        if action.kind is ActionKind.ASK:
            text = f"Patient: {findings.pop(0)}." if findings else "Patient: Nothing else."
        elif action.kind is ActionKind.ORDER_TEST:
            text = f"Result: {results.get(action.text, 'within normal limits')}."
        else:
            text = "Examination: no abnormality."
    return actions


def biased(*bias_ids: str) -> SystematicDoctor:
    doctor = SystematicDoctor(VIEW)
    doctor.take_biases([doctor_use(b, truth_and_target()[1].disease.name) for b in bias_ids])
    return doctor


def target_points(doctor: SystematicDoctor) -> float:
    """The target's score less its unbiased score."""
    (leaning,) = doctor.leanings.targets
    assert leaning.profile is not None
    return doctor._candidate(leaning).score - doctor.evidence.scores[leaning.profile]


def test_the_unbiased_doctor_finds_the_synthetic_truth():
    truth, target = truth_and_target()
    diagnosis = consult(SystematicDoctor(VIEW))[-1]
    assert diagnosis.differential[0] == truth.disease.name
    assert target.disease.name not in diagnosis.differential


def test_confirmation_boosts_the_target_and_tests_for_it_first():
    _, target = truth_and_target()
    doctor = biased("confirmation")
    actions = consult(doctor)
    tests = [a.text for a in actions if a.kind is ActionKind.ORDER_TEST]
    assert tests[: len(target.test_names)] == list(target.test_names)[: len(tests)]
    evidence = doctor.evidence.points(doctor.leanings.targets[0].profile)
    assert target_points(doctor) == leanings.CONFIRMATION_BOOST + evidence
    exams = [a.text for a in actions if a.kind is ActionKind.EXAMINE]
    specialty_exams = doctor_script().specialty_exams[target.disease.specialty.lower()]
    assert exams[len(doctor_script().default_exams)] == specialty_exams[0]
    assert actions[-1].differential[0] == target.disease.name


def test_recency_boosts_the_target_and_keeps_it_in_the_plan():
    _, target = truth_and_target()
    doctor = biased("recency")
    consult(doctor)
    assert target_points(doctor) == leanings.RECENCY_BOOST
    assert doctor._planned(doctor._ranked())[-1].name == target.disease.name


def test_frequency_scores_the_target_as_a_very_common_disease():
    _, target = truth_and_target()
    doctor = biased("frequency")
    consult(doctor)
    assert target_points(doctor) == pytest.approx(leanings.FREQUENCY_PRIOR - target.prior)


def test_false_consensus_always_lists_the_target():
    _, target = truth_and_target()
    doctor = biased("false_consensus")
    diagnosis = consult(doctor)[-1]
    assert target_points(doctor) == leanings.CONSENSUS_BOOST
    assert target.disease.name in diagnosis.differential


def test_status_quo_keeps_the_target_only_within_its_margin():
    _, target = truth_and_target()
    doctor = biased("status_quo")
    diagnosis = consult(doctor)[-1]
    assert target_points(doctor) == 0
    ranked = doctor._ranked()
    within = doctor._candidate(doctor.leanings.targets[0]).score >= (
        ranked[0].score - leanings.STATUS_QUO_MARGIN
    )
    assert (diagnosis.differential[0] == target.disease.name) == within
    assert target.disease.name in diagnosis.differential
    doctor.leanings = Leanings((replace(doctor.leanings.targets[0], keep_margin=100.0),))
    assert doctor._diagnose(ranked).differential[0] == target.disease.name


def test_an_anchor_is_worn_down_by_test_results():
    doctor = biased("biasmedqa_self_diagnosis")
    (leaning,) = doctor.leanings.targets
    worn = [leaning.points(0.0, seen) for seen in range(8)]
    assert worn[0] == leanings.ANCHOR_BOOST and worn[-1] == 0.0
    assert all(a - b in (leanings.ANCHOR_DECAY, 0.0) or b == 0 for a, b in pairwise(worn))


def test_an_implicit_bias_curtails_the_history():
    doctor = SystematicDoctor(VIEW)
    doctor.take_biases([doctor_use("gender")])
    asked = [a.text for a in consult(doctor) if a.kind is ActionKind.ASK]
    questions = [q.text for q in doctor_script().history_questions]
    assert asked == questions[: leanings.CURTAILED_QUESTIONS] != questions


def test_biases_on_one_target_add_up():
    doctor = biased("confirmation", "recency")
    consult(doctor)
    evidence = doctor.evidence.points(doctor.leanings.targets[0].profile)
    boosts = leanings.CONFIRMATION_BOOST + leanings.RECENCY_BOOST
    assert target_points(doctor) == boosts + evidence
    assert doctor.leanings.targets[0].plan == "first"


def test_a_bias_without_a_behaviour_is_refused_and_patient_biases_are_left_out():
    doctor = SystematicDoctor(VIEW)
    with pytest.raises(ConfigError, match="doctor:self_diagnosis"):
        doctor.take_biases([doctor_use("self_diagnosis", "Gout")])
    doctor.take_biases([doctor_use("recency", "Gout", role="patient")])
    assert doctor.leanings == Leanings()


def test_biases_are_taken_before_the_first_turn_only():
    doctor = SystematicDoctor(VIEW)
    consult(doctor, turns=3)
    with pytest.raises(ProtocolError):
        doctor.take_biases([doctor_use("gender")])


def test_every_doctor_bias_has_a_behaviour_and_every_behaviour_a_bias():
    models = doctor_script().biases
    known = biases()
    for bias_id, bias in known.items():
        if "doctor" in bias.applies_to:
            assert leanings.bias_model(doctor_use(bias_id, "Gout"), models)
    assert set(models) <= set(known)


def test_the_random_doctor_guesses_the_target_first_and_asks_less_when_prejudiced():
    _, target = truth_and_target()
    doctor = RandomDoctor(random.Random(0))
    doctor.take_biases([doctor_use("recency", target.disease.name)])
    assert consult(doctor)[-1].differential[0] == target.disease.name
    for seed in range(5):
        doctor = RandomDoctor(random.Random(seed))
        doctor.take_biases([doctor_use("race")])
        kinds = [a.kind for a in consult(doctor)]
        assert kinds.count(ActionKind.ASK) <= leanings.CURTAILED_QUESTIONS


def test_the_planted_doctor_switches_to_the_target_when_its_draw_says_so():
    _, target = truth_and_target()
    plain = consult(SystematicDoctor(VIEW))[-1]
    switched = unswitched = 0
    for seed in range(8):
        doctor = PlantedEffectDoctor(VIEW, random.Random(seed))
        doctor.take_biases([doctor_use("recency", target.disease.name), doctor_use("gender")])
        diagnosis = consult(doctor)[-1]
        if doctor.switches:
            switched += 1
            assert diagnosis.differential == (target.disease.name, *plain.differential[:4])
        else:
            unswitched += 1
            assert diagnosis == plain
    assert switched and unswitched


def test_each_doctor_bias_changes_the_systematic_doctor_on_the_bundled_cases():
    cases = load_cases("starter")[:12]

    @functools.cache
    def actions(index: int, biases: tuple[str, ...]) -> list[Action]:
        case = cases[index]
        session = create_session(case, dataset="starter", biases=biases, doctor="systematic")
        doctor = create_doctor("systematic", session)
        doctor.take_biases(session.bias_plan.uses)  # placed in the case too: it reads those
        return [t.action for t in asyncio.run(run_consultation(session, doctor)).turns]

    for bias_id, bias in biases().items():
        if "doctor" in bias.applies_to:
            spec = (f"doctor:{bias_id}",)
            assert any(actions(i, spec) != actions(i, ()) for i in range(len(cases))), spec


def test_a_session_gives_the_scripted_doctor_its_biases():
    case = load_cases("starter")[0]
    session = create_session(
        case, dataset="starter", biases=("doctor:confirmation",), doctor="systematic"
    )
    doctor = create_doctor("systematic", session)
    assert isinstance(doctor, SystematicDoctor)
    (leaning,) = doctor.leanings.targets
    assert leaning.name == session.bias_plan.targets["doctor:confirmation"]
