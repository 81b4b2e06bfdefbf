"""Content and case files from anyone: strict UTF-8, no aliases, bounded nesting, finite
numbers, text made valid; each problem a one-line error naming the file and where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clinic_env.content import load_yaml_model, parse_json_line, read_yaml, validate_json_line
from clinic_env.datasets import load_cases
from clinic_env.errors import CaseDataError, ContentError
from clinic_env.schema.case import Case
from tests.helpers.cases import MINIMAL_CASE, write_yaml


def alias_bomb() -> str:
    """Nine references per level over nine levels: 9**9 (387 million) strings when followed."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        name, below = "abcdefghi"[level], "abcdefghi"[level - 1]
        lines.append(f"{name}: &{name} [{', '.join([f'*{below}'] * 9)}]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_without_being_followed(tmp_path: Path):
    bomb = alias_bomb()
    assert len(bomb) < 600
    path = tmp_path / "case.yaml"
    path.write_text(bomb)
    with pytest.raises(ContentError, match=r"case.yaml:2: YAML aliases \(\*name\) are not allowed"):
        read_yaml(path)


def test_even_one_alias_is_refused(tmp_path: Path):
    path = tmp_path / "persona.yaml"
    path.write_text("base: &base {verbosity: 0.5}\nother: *base\n")
    with pytest.raises(ContentError, match=r"persona.yaml:2: YAML aliases"):
        read_yaml(path)


def test_a_file_that_is_not_utf8_names_the_byte(tmp_path: Path):
    path = tmp_path / "case.yaml"
    path.write_bytes(b"id: caf\xe9-001\n")
    with pytest.raises(CaseDataError, match=r"case.yaml: not UTF-8 text \(byte offset 7"):
        load_yaml_model(path, Case, CaseDataError)


def test_deep_nesting_is_refused_by_name(tmp_path: Path):
    path = tmp_path / "deep.yaml"
    path.write_text("[" * 70 + "]" * 70)
    with pytest.raises(ContentError, match=r"deep.yaml:1: nested deeper than 64 levels"):
        read_yaml(path)


def test_duplicate_keys_are_still_found(tmp_path: Path):
    path = tmp_path / "dup.yaml"
    path.write_text("a: 1\nb:\n  c: 2\n  c: 3\n")
    with pytest.raises(ContentError, match=r"dup.yaml:4 \(field c\): duplicate key"):
        read_yaml(path)


@pytest.mark.parametrize("value", [".inf", "-.Inf", ".nan"])
def test_a_non_finite_cost_in_a_case_file_names_file_line_and_field(tmp_path: Path, value: str):
    path = write_yaml(tmp_path / "case.yaml", MINIMAL_CASE)
    path.write_text(path.read_text().replace("cost_usd: 30", f"cost_usd: {value}"))
    with pytest.raises(CaseDataError, match=r"case.yaml:\d+ \(field tests.0.cost_usd\): .*finite"):
        load_yaml_model(path, Case, CaseDataError)


def test_infinity_in_a_case_jsonl_is_refused_naming_the_line(tmp_path: Path):
    path = tmp_path / "cases.jsonl"
    line = json.dumps(MINIMAL_CASE).replace('"cost_usd": 30', '"cost_usd": Infinity')
    path.write_text(line + "\n")
    with pytest.raises(CaseDataError, match=r"cases.jsonl:1: non-finite number"):
        load_cases(path)


def test_a_lone_surrogate_in_a_case_line_is_replaced():
    case = {**MINIMAL_CASE, "opening_statement": "My knee \\ud800 hurts."}
    line = json.dumps(case).replace("\\\\ud800", "\\ud800")  # the JSON escape itself
    assert "\\ud800" in line
    loaded = validate_json_line(line, Case, "cases.jsonl", 1, CaseDataError)
    assert loaded.opening_statement == "My knee \ufffd hurts."
    loaded.model_dump_json()  # can be written
    assert parse_json_line(line, "cases.jsonl", 1)["opening_statement"] == "My knee \ufffd hurts."


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"a": "cut sho', "truncated line 7"),
        ('{"a": "cut short\n', "truncated line 7"),
        ("[" * 300 + "]" * 300, "nested too deeply"),
        ('{"a": NaN}', "non-finite number"),
        ('{"a": -Infinity}', "non-finite number"),
        ('{"a" 1}', "invalid JSON"),
    ],
)
def test_json_lines_say_what_is_wrong(line: str, problem: str):
    with pytest.raises(ContentError, match=f"^f.jsonl:7: {problem}"):
        parse_json_line(line, "f.jsonl", 7)
