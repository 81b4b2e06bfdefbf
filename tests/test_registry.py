"""Registries: metadata on the decorator, factory parameters from configs, entry points."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from clinic_env import registry
from clinic_env.agents.base import DOCTORS, MEASUREMENTS, PATIENTS, AgentInfo
from clinic_env.errors import ConfigError, UnknownNameError
from clinic_env.evaluators.registry import EVALUATORS
from clinic_env.evaluators.suite import OFFLINE_EVALUATORS, create_evaluators
from clinic_env.options import SessionOptions
from clinic_env.registry import Registry
from clinic_env.roles import role_label
from clinic_env.schema.action import ActionKind
from clinic_env.session import check_options, create_doctor, create_session, run_consultation
from tests.helpers.cases import minimal_case


def built_in(entries):
    """The entries clinic-env registers itself (other tests register their own doubles)."""
    return [entry for entry in entries if entry.factory.__module__.startswith("clinic_env.")]


def play(spec, **options):
    session = create_session(minimal_case(), seed=0, **options)
    doctor = create_doctor(spec, session)
    return doctor, asyncio.run(run_consultation(session, doctor))


def test_metadata_replaces_the_side_sets():
    privileged = {e.name for e in built_in(DOCTORS.entries()) if e.meta.privileged}
    judged = {e.name for e in built_in(EVALUATORS.entries()) if e.meta.needs_judge}
    assert privileged == {"oracle"}
    assert judged == {"llm_judge", "rubric_llm", "inquiry_llm"}
    assert all(EVALUATORS.entry(name).meta.offline for name in OFFLINE_EVALUATORS)
    assert all(e.meta.offline for e in built_in([*PATIENTS.entries(), *MEASUREMENTS.entries()]))
    with pytest.raises(ConfigError, match="rubric_llm need a judge model"):
        create_evaluators(["diagnosis", "rubric_llm"], None)


def test_only_a_privileged_doctor_is_given_the_case(monkeypatch):
    monkeypatch.setattr(DOCTORS, "_entries", dict(DOCTORS._entries))
    given = []

    @DOCTORS.register("test-peeker", offline=True)
    def make(view, rng, case):
        given.append(case)
        return create_doctor("random", session)

    session = create_session(minimal_case(), seed=0)
    create_doctor("test-peeker", session)
    assert given == [None]
    assert create_doctor("oracle", session).case is session.case


def test_every_built_in_is_listed_with_its_metadata_and_a_one_line_summary():
    registries = (PATIENTS, MEASUREMENTS, DOCTORS, EVALUATORS)
    entries = built_in([entry for kind in registries for entry in kind.entries()])
    assert len(entries) == 1 + 1 + 4 + 12
    for entry in entries:
        assert entry.summary and "\n" not in entry.summary, entry.name
    assert [e.name for e in EVALUATORS.entries()] == sorted(EVALUATORS.names())
    line = DOCTORS.entry("systematic").describe()
    assert line.startswith("systematic [offline] (max_tests=5): Takes a structured history")
    assert DOCTORS.entry("oracle").describe().startswith("oracle [offline, privileged]: ")


def test_registration_refuses_unknown_metadata_twice_the_same_name_and_a_short_factory():
    things = Registry("thing", AgentInfo, group="clinic_env.tests-none", passes=("view", "rng"))
    with pytest.raises(ValueError, match="'a': bad registration metadata"):
        things.register("a", needs_judge=True)
    things.register("a")(lambda view, rng: None)
    with pytest.raises(ValueError, match="'a' is registered twice"):
        things.register("a")(lambda view, rng: None)
    with pytest.raises(ValueError, match=r"its factory must take \(view, rng\)"):
        things.register("b")(lambda view: None)
    with pytest.raises(UnknownNameError, match=r"unknown thing 'c' \(known: a\)"):
        things.entry("c")


def test_a_doctor_takes_factory_parameters_from_a_mapping():
    doctor, transcript = play({"agent": "systematic", "max_tests": 0})
    assert doctor.max_tests == 0
    kinds = {turn.action.kind for turn in transcript.turns if turn.action is not None}
    assert ActionKind.ORDER_TEST not in kinds and transcript.outcome == "diagnosed"
    assert role_label({"agent": "systematic", "max_tests": 0}) == "systematic(max_tests=0)"
    assert role_label({"agent": "systematic"}) == "systematic"
    _, default = play("systematic")
    assert any(t.action and t.action.kind is ActionKind.ORDER_TEST for t in default.turns)


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        (
            {"agent": "systematic", "max_test": 3},
            "doctor agent 'systematic' has no parameter 'max_test' (parameters: max_tests)",
        ),
        (
            {"agent": "systematic", "max_tests": "three"},
            "doctor agent 'systematic': parameter 'max_tests': Input should be a valid integer",
        ),
        (
            {"agent": "planted", "switch": 1.5},
            "doctor agent 'planted': parameter 'switch': Input should be less than or equal to 1",
        ),
        (
            {"agent": "random", "model": "openai/gpt-4o-mini"},
            "doctor agent 'random': give 'agent' (a registered agent) or 'model'",
        ),
        ({"agent": "nobody"}, "unknown doctor agent 'nobody'"),
    ],
)
def test_a_bad_factory_parameter_is_one_line_naming_it(spec, error):
    session = create_session(minimal_case(), seed=0)
    with pytest.raises((ConfigError, UnknownNameError)) as raised:
        create_doctor(spec, session)
    assert str(raised.value).startswith(error) and "\n" not in str(raised.value)


def test_patient_and_measurement_parameters_are_checked_when_the_options_are():
    options = SessionOptions(patient={"agent": "offline"}, measurement={"agent": "offline"})
    check_options(options)
    session = create_session(minimal_case(), options, seed=0)
    assert session.agent_names["patient"] == "offline" and session.offline
    bad = SessionOptions(measurement={"agent": "offline", "unrecorded": "normal"})
    with pytest.raises(ConfigError, match="has no parameter 'unrecorded' \\(parameters: none\\)"):
        check_options(bad)
    with pytest.raises(ConfigError, match="patient agent 'offline' has no parameter 'mood'"):
        create_session(minimal_case(), patient={"agent": "offline", "mood": "low"})


PLUGIN = '''
"""A third-party package's agents, registered on import."""
from clinic_env.agents.base import PATIENTS, PatientReply


class Parrot:
    offline = True

    def __init__(self, word):
        self.word = word

    async def reply(self, question):
        return PatientReply(f"{self.word}: {question.text}")


@PATIENTS.register("test-parrot", offline=True)
def make_parrot(view, persona, rng, *, word: str = "Pardon"):
    """Says the question back."""
    return Parrot(word)
'''


def install_plugin(root: Path, module: str, body: str) -> None:
    """A distribution on ``root`` whose entry point in ``clinic_env.agents`` names ``module``."""
    (root / f"{module}.py").write_text(textwrap.dedent(body), encoding="utf-8")
    info = root / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[clinic_env.agents]\n{module} = {module}\n")


@pytest.fixture
def fresh_registries(monkeypatch):
    """Entry points not yet loaded, and registrations undone after the test."""
    monkeypatch.setattr(registry, "_LOADED", {})
    monkeypatch.setattr(PATIENTS, "_entries", dict(PATIENTS._entries))
    yield
    for module in [name for name in sys.modules if name.startswith("clinic_plugin_")]:
        del sys.modules[module]


def test_an_entry_point_registers_on_the_first_lookup_of_an_unknown_name(
    tmp_path, monkeypatch, fresh_registries
):
    install_plugin(tmp_path, "clinic_plugin_parrot", PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "clinic_plugin_parrot" not in sys.modules
    session = create_session(minimal_case(), patient={"agent": "test-parrot", "word": "Eh"})
    assert asyncio.run(session.step("Any fever?")).observation.count("Eh: Any fever?") == 1
    assert "test-parrot" in PATIENTS.names()


def test_a_broken_plugin_is_named_with_the_unknown_name(tmp_path, monkeypatch, fresh_registries):
    install_plugin(tmp_path, "clinic_plugin_broken", "import a_module_nobody_has\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UnknownNameError) as raised:
        PATIENTS.entry("test-missing")
    message = str(raised.value)
    assert "unknown patient agent 'test-missing'" in message
    assert "plugin failed: clinic_plugin_broken = clinic_plugin_broken: ModuleNotFoundError" in (
        message
    )
    assert PATIENTS.entry("offline").meta.offline  # the built-ins still answer


def test_a_fresh_interpreter_finds_the_plugin_as_a_ray_worker_would(tmp_path):
    install_plugin(tmp_path, "clinic_plugin_worker", PLUGIN)
    script = textwrap.dedent(
        """
        import asyncio
        from clinic_env.session import create_session
        from tests.helpers.cases import minimal_case

        session = create_session(minimal_case(), patient="test-parrot")
        print(asyncio.run(session.step("Any fever?")).observation)
        """
    )
    paths = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": paths},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).parent.parent,
    )
    assert done.returncode == 0, done.stderr
    assert "Pardon: Any fever?" in done.stdout
