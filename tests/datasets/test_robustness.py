"""Converters never crash: fixture records with random parts swapped for random JSON values
(strings, numbers, null, lists and dicts nested to any depth) still load, record by record,
each one a valid case or a reported defect."""

import json
import random
from pathlib import Path
from typing import Any

import pytest

from clinic_env.datasets import load_dataset
from clinic_env.datasets.convert import read_records
from tests.helpers.datasets import MEDIQ, NEJM, OSCE

MUTANTS_PER_RECORD = 25
WORDS = ("Findings", "Normal", "Elevated", "", "N/A", "History", "pain", "5/5", "Imaging", "?")


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 4 else 4)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice((0, -3, 2.5, 1e308, True, False))
    if kind in (2, 3):
        return " ".join(rng.choice(WORDS) for _ in range(rng.randrange(5)))
    if kind == 4:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ("Vital_Signs", "Blood_Tests", "Findings", "Skin", "age", "A", "text", "correct", "x")
    return {rng.choice(keys): random_value(rng, depth + 1) for _ in range(rng.randrange(4))}


def mutate(value: Any, rng: random.Random, depth: int = 0) -> Any:
    """A copy of ``value`` with one random part below the top replaced."""
    if (depth > 0 and rng.random() < 0.3) or not isinstance(value, dict | list) or not value:
        return random_value(rng)
    if isinstance(value, dict):
        key = rng.choice(list(value))
        return {**value, key: mutate(value[key], rng, depth + 1)}
    index = rng.randrange(len(value))
    return [*value[:index], mutate(value[index], rng, depth + 1), *value[index + 1 :]]


@pytest.mark.parametrize(
    ("source", "format_name"),
    [
        (OSCE, "agentclinic"),
        (NEJM, "agentclinic-nejm"),
        (MEDIQ, "mediq"),
    ],
)
def test_mutated_records_load_without_crashing(tmp_path: Path, source: Path, format_name: str):
    rng = random.Random(format_name)
    originals = [r for _, r in read_records(source) if isinstance(r, dict)]
    lines = [
        json.dumps(mutate(mutate(record, rng), rng))
        for record in originals
        for _ in range(MUTANTS_PER_RECORD)
    ]
    path = tmp_path / "mutants.jsonl"
    path.write_text("\n".join(lines))
    loaded = load_dataset(path, format=format_name)
    assert loaded.records == len(lines)
    skipped = {d.line for d in loaded.defects if d.skipped}
    assert len(loaded.cases) + len(skipped) == len(lines)
    assert len({case.id for case in loaded.cases}) == len(loaded.cases)
    assert not [d for d in loaded.defects if "cannot be converted" in d.detail]
    assert len(loaded.cases) > len(lines) / 4
