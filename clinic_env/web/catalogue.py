"""What the play form offers: datasets at hand, personas, biases, agents, exams and tests."""

from __future__ import annotations

from typing import Any

from clinic_env.agents.personas import biases, personas
from clinic_env.language.knowledge import exam_catalog, test_catalog
from clinic_env.web.play import RoleChoices
from clinic_env.web.shelf import DatasetShelf


def play_options(choices: RoleChoices, shelf: DatasetShelf) -> dict[str, Any]:
    """Only labels leave the server: a model's config (and any key it names) stays here."""
    return {
        "datasets": shelf.offered(),
        "personas": [
            {"id": p.id, "name": p.name, "summary": p.summary} for p in personas().values()
        ],
        "biases": [
            {"id": b.id, "kind": b.kind, "applies_to": list(b.applies_to), "summary": b.summary}
            for b in biases().values()
        ],
        "choices": {role: list(labels) for role, labels in choices.items()},
        "exams": [system.name for system in exam_catalog().systems],
        "tests": [
            {"name": t.name, "kind": t.kind, "cost_usd": t.cost_usd, "hours": t.turnaround_hours}
            for t in test_catalog().values()
        ],
    }
