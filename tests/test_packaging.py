"""The wheel carries the content folders and works without the source tree."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PROBE = """
import clinic_env, gymnasium
from clinic_env.content import content_root
from clinic_env.datasets import load_cases
from clinic_env.agents.personas import personas
root = content_root()
assert str(root).startswith(TARGET), root
assert clinic_env.__file__.startswith(TARGET), clinic_env.__file__
assert len(load_cases("starter")) >= 40 and "anxious" in personas()
env = gymnasium.make("clinic_env/Consultation-v0", persona="anxious")
env.reset(seed=0)
print(env.step("What brings you in today?")[0])
"""


def test_wheel_ships_content_and_runs_from_site_packages(tmp_path: Path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(REPO),
        ],
        check=True,
    )
    wheel = next((tmp_path / "dist").glob("clinic_env-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for required in (
        "clinic_env/py.typed",
        "clinic_env/_content/agents/personas/anxious.yaml",
        "clinic_env/_content/cases/starter/resp-001.yaml",
        "clinic_env/_content/evaluators/rewards/default.yaml",
        "clinic_env/_content/agents/prompts/protocol.yaml",
        "clinic_env/web/static/index.html",
        "clinic_env/web/static/app.js",
        "clinic_env_verifiers/__init__.py",
    ):
        assert required in names, required
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    environment = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [sys.executable, "-c", f"TARGET = {str(target)!r}\n{PROBE}"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
