"""The README's notebook example runs as printed and scores what its case says."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_notebook_example_diagnoses_its_own_case(capsys):
    example = next(block for block in python_blocks() if "ClinicEnv(" in block and "step(" in block)
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    info = namespace["info"]
    assert namespace["terminated"] and info["outcome"] == "diagnosed"
    assert info["score"]["top1"] == 1.0
    assert "in progress" in capsys.readouterr().out
