"""Small cases and files written for the tests."""

from __future__ import annotations

from pathlib import Path

import yaml

from clinic_env.schema.case import Case

MINIMAL_CASE: dict = {
    "id": "test-001",
    "specialty": "testing",
    "source": {"dataset": "tests", "version": "1"},
    "demographics": {"age_years": 40, "sex": "male", "description": "40-year-old man"},
    "doctor_brief": "A 40-year-old man comes in with a painful knee.",
    "opening_statement": "My knee has been killing me since yesterday.",
    "facts": [
        {
            "category": "presenting_complaint",
            "text": "Painful swollen right knee since yesterday.",
            "says": "My right knee swelled up yesterday and it hurts a lot.",
        },
        {
            "category": "history_of_present_illness",
            "text": "Pain woke him at night.",
            "says": "The pain woke me up in the night.",
        },
        {
            "category": "medications",
            "text": "Takes a water tablet for blood pressure.",
            "says": "I take a water tablet for my blood pressure.",
        },
        {
            "category": "social",
            "text": "Drinks six beers most evenings.",
            "says": "I have a few beers most nights, maybe six.",
        },
    ],
    "exam": [
        {"system": "musculoskeletal", "name": "knee", "finding": "Hot, red, swollen right knee."},
        {
            "system": "vital signs",
            "name": "observations",
            "finding": "Temperature 37.6 C, pulse 88.",
        },
    ],
    "tests": [
        {
            "name": "Complete blood count",
            "result": "White cells 11.2 x10^9/L.",
            "cost_usd": 30,
            "turnaround_hours": 1,
        },
        {"name": "Serum uric acid", "result": "9.1 mg/dL.", "cost_usd": 20, "turnaround_hours": 4},
    ],
    "ground_truth": {
        "diagnosis": "Gout",
        "aliases": ["gouty arthritis"],
        "differentials": [{"diagnosis": "Septic arthritis", "must_not_miss": True}],
    },
}


def minimal_case(**changes: object) -> Case:
    return Case.model_validate({**MINIMAL_CASE, **changes})


def write_yaml(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path
