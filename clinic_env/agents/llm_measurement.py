"""A measurement agent helped by a model: it can only point at what the case lists.

Every request first goes through the offline agent's lookup (names, groups, catalogue
synonyms, panels, bedside signs), and whatever the record holds is answered from it. For
the rest ("have a look at her thyroid"), the model is shown the case's numbered findings and
results and answers with the identifiers that fit, or NONE: it selects, it does not write,
so it can return nothing the case does not hold. Optionally, for a recognised test the case
does not list, the model may write a plausible result, marked as synthesised and priced as
the catalogue says. Catalogue names in a reply are listed in ``spared``, as offline.
"""

from __future__ import annotations

import random
import re
from typing import Any

from clinic_env.agents.base import MeasurementResult, Unrecorded
from clinic_env.agents.model_role import ModelRole
from clinic_env.agents.offline_measurement import OfflineMeasurement, format_hours
from clinic_env.llm.prompts import render_prompt
from clinic_env.schema.action import Action, ActionKind
from clinic_env.schema.case import MeasurementView
from clinic_env.schema.knowledge import CatalogTest

_IDENTIFIER = re.compile(r"\b([ET])\s*(\d{1,3})\b", re.I)
SYNTHESISED_MARK = "(synthesised: not in the case record)"


def measurement_prompt(view: MeasurementView) -> str:
    exam = "\n".join(f"E{i}. {f.system}, {f.name}: {f.finding}" for i, f in enumerate(view.exam, 1))
    tests = "\n".join(
        f"T{i}. {t.name}{f' [{t.group}]' if t.group else ''}: {t.result}"
        for i, t in enumerate(view.tests, 1)
    )
    return render_prompt("measurement", exam=exam or "(none)", tests=tests or "(none)")


def chosen_entries(reply: str, view: MeasurementView) -> tuple[list[int], list[int]]:
    """The exam and test indices a reply names (1-based identifiers, checked against the case)."""
    exams: list[int] = []
    tests: list[int] = []
    for letter, number in _IDENTIFIER.findall(reply):
        index = int(number) - 1
        if letter.upper() == "E" and 0 <= index < len(view.exam) and index not in exams:
            exams.append(index)
        elif letter.upper() == "T" and 0 <= index < len(view.tests) and index not in tests:
            tests.append(index)
    return exams, tests


class LLMMeasurement:
    offline = False

    def __init__(
        self,
        model: ModelRole,
        view: MeasurementView,
        synthesise: bool = False,
        *,
        unrecorded: Unrecorded = "unavailable",
    ) -> None:
        self.model = model
        self.view = view
        self.synthesise = synthesise
        self.lookup = OfflineMeasurement(view, random.Random(0), unrecorded=unrecorded)
        self.messages: list[dict[str, Any]] = [
            {"role": "system", "content": measurement_prompt(view)}
        ]

    async def measure(self, action: Action) -> MeasurementResult:
        direct = self.lookup.lookup(action)
        if direct.found or action.kind is ActionKind.REQUEST_IMAGES:
            return direct
        request = (
            f"REQUEST {'EXAM' if action.kind is ActionKind.EXAMINE else 'TEST'}: {action.text}"
        )
        self.messages.append({"role": "user", "content": request})
        completion = await self.model.complete(self.messages)
        self.messages.append({"role": "assistant", "content": completion.text})
        exams, tests = chosen_entries(completion.text, self.view)
        if action.kind is ActionKind.EXAMINE and exams:
            findings = [self.lookup.format_finding(self.view.exam[i]) for i in exams]
            return MeasurementResult("\n".join(findings))
        if action.kind is ActionKind.ORDER_TEST and tests:
            return self.lookup.recorded_tests(tuple(tests), action.text)
        listed = self.lookup.recognised(action.text)
        if action.kind is ActionKind.ORDER_TEST and self.synthesise and listed is not None:
            return await self._synthesise(listed)
        return direct

    async def _synthesise(self, listed: CatalogTest) -> MeasurementResult:
        """A model-written result for a recognised test the case lacks, priced as listed."""
        prompt = render_prompt("measurement_synthesis", request=listed.name)
        self.messages.append({"role": "user", "content": prompt})
        completion = await self.model.complete(self.messages)
        self.messages.append({"role": "assistant", "content": completion.text})
        text = self.lookup.texts.test_result.format(
            name=listed.name,
            result=f"{completion.text.strip()} {SYNTHESISED_MARK}",
            cost=f"{listed.cost_usd:g}",
            turnaround=format_hours(listed.turnaround_hours),
        )
        return MeasurementResult(
            text, listed.cost_usd, listed.turnaround_hours, found=False, spared=(listed.name,)
        )
