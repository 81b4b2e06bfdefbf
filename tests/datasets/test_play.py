"""Loaded cases in play: offline agents hold every consultation, the answer never reaches the
doctor unless the turn says it was withheld, MCQ answers score by letter or text, and
``ClinicEnv("medqa", ...)`` works from the cache and fails clearly without it."""

import asyncio
import re
import warnings

import pytest

from clinic_env.datasets import DatasetWarning, dataset_spec, find_leaks, load_dataset
from clinic_env.datasets.download import cached_path
from clinic_env.envs.gym_env import ClinicEnv
from clinic_env.errors import DatasetDownloadError
from clinic_env.language.text import contains_phrase
from clinic_env.session import create_doctor, create_session, run_consultation
from tests.helpers.datasets import (
    FORMAT_FIXTURES,
    MEDIQ,
    place_in_cache,
    use_fixture_registry,
)
from tests.test_session import ADVERSARIAL_QUESTIONS, names_of

FIXTURE_FILES = tuple(path for paths in FORMAT_FIXTURES.values() for path in paths)
_TEST_INDEX = re.compile(r"^tests\[(\d+)\]")


def loaded_cases(redact_leaks: bool = False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        return [
            (loaded, case)
            for path in FIXTURE_FILES
            for loaded in [load_dataset(path, redact_leaks=redact_leaks)]
            for case in loaded.cases
        ]


def step(session, message):
    return asyncio.run(session.step(message))


def doctor_texts(session):
    transcript = session.transcript()
    yield transcript.opening_observation, False
    for turn in transcript.turns:
        yield turn.observation, turn.redacted


@pytest.mark.parametrize("redact_leaks", [False, True])
def test_offline_agents_play_every_loaded_case_without_leaking(redact_leaks: bool):
    played = 0
    for loaded, case in loaded_cases(redact_leaks):
        for persona in ("plain", "anxious"):
            session = create_session(case, dataset=loaded.name, persona=persona, seed=3)
            transcript = asyncio.run(
                run_consultation(session, create_doctor("systematic", session))
            )
            assert transcript.outcome == "diagnosed", (case.id, transcript.error)
            assert transcript.score.value("top1") is not None
            for text, redacted in doctor_texts(session):
                for name in names_of(case):
                    assert redacted or not contains_phrase(text, name), (case.id, name, text)
            played += 1
    assert played == 2 * 39


def test_adversarial_questions_never_bring_out_the_answer():
    for _, case in loaded_cases():
        session = create_session(case, seed=0, max_turns=40)
        for question in (*ADVERSARIAL_QUESTIONS, "REQUEST EXAM: full physical", "REQUEST IMAGES"):
            step(session, question)
        for text, redacted in doctor_texts(session):
            for name in names_of(case):
                assert redacted or not contains_phrase(text, name), (case.id, name, text)


def test_every_leak_the_audit_lists_is_withheld_and_flagged():
    """A leaking test result reaches the doctor withheld, on a turn marked redacted; with
    ``redact_leaks`` the data itself no longer holds the answer."""
    flagged = 0
    for loaded, case in loaded_cases():
        for defect in loaded.defects:
            index = _TEST_INDEX.match((defect.where or "").removeprefix("measurement: "))
            if defect.kind != "leak" or defect.case_id != case.id or index is None:
                continue
            test = case.tests[int(index[1])]
            session = create_session(case, seed=0)
            result = step(session, f"REQUEST TEST: {test.name}")
            assert "[withheld]" in result.observation, (case.id, result.observation)
            assert session.transcript().turns[-1].redacted
            flagged += 1
    assert flagged == 3  # "Rubella IgM" names a test, not the diagnosis
    for _, case in loaded_cases(redact_leaks=True):
        assert find_leaks(case) == [], case.id


def test_mcq_mode_shows_options_and_scores_letters_and_text():
    case = next(c for _, c in loaded_cases() if c.id == "mediq-10")
    open_session = create_session(case, seed=0)
    assert "Plaque psoriasis" not in open_session.opening
    for answer, expected in (
        ("A", 1.0),
        ("a", 1.0),
        ("(A) Plaque psoriasis", 1.0),
        ("A: Plaque psoriasis", 1.0),
        ("Option A", 1.0),
        ("Answer: A", 1.0),
        ("Plaque psoriasis", 1.0),
        ("B", 0.0),
    ):
        session = create_session(case, seed=0, show_options=True)
        assert "A. Plaque psoriasis" in session.opening
        final = step(session, f"DIAGNOSIS READY: {answer}")
        assert final.info["score"]["top1"] == expected, answer


def test_gym_env_mcq_answer_by_letter():
    with pytest.warns(DatasetWarning):
        env = ClinicEnv(MEDIQ, show_options=True, cases=["mediq-11"])
    observation, _ = env.reset(seed=0)
    assert "C. Viral pharyngitis" in observation
    *_, info = env.step("DIAGNOSIS READY: C")
    assert info["score"]["top1"] == 1.0


def test_clinic_env_medqa_works_once_cached(monkeypatch: pytest.MonkeyPatch):
    use_fixture_registry(monkeypatch)
    place_in_cache("medqa")
    monkeypatch.setenv("CLINIC_ENV_OFFLINE", "1")
    with pytest.warns(DatasetWarning, match="clinic-env datasets audit medqa"):
        env = ClinicEnv("medqa", persona="anxious")
    observation, info = env.reset(seed=0)
    assert info["dataset"] == "medqa" and info["persona"] == "anxious"
    assert observation
    reply, *_ = env.step("What brings you in today?")
    assert reply
    with warnings.catch_warnings():
        warnings.simplefilter("error", DatasetWarning)
        ClinicEnv("medqa", persona="anxious")  # loaded once per process, warned once


def test_clinic_env_medqa_without_cache_or_network_says_what_to_do():
    spec = dataset_spec("medqa")
    with pytest.raises(DatasetDownloadError) as error:
        ClinicEnv("medqa", persona="anxious")
    message = str(error.value)
    assert spec.url() in message
    assert f"place it at {cached_path(spec)}" in message


def test_clinic_env_medqa_offline_names_the_github_url(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CLINIC_ENV_DATA_MIRROR")
    monkeypatch.setenv("CLINIC_ENV_OFFLINE", "1")
    with pytest.raises(DatasetDownloadError) as error:
        ClinicEnv("medqa", persona="anxious")
    assert "https://raw.githubusercontent.com/SamuelSchmidgall/AgentClinic/" in str(error.value)
