"""The offline measurement agent: the examination room and the laboratory, by lookup.

Exams and tests are found by name through the shared catalogue (abbreviations and synonyms
resolve), results come from the case, and anything the case does not list is normal, as in
AgentClinic's measurement agent. Every result carries its cost and turnaround: the case's
own figures when it has them, otherwise the catalogue's.
"""

from __future__ import annotations

import functools
import random

from clinic_env.agents.base import MEASUREMENTS, MeasurementResult
from clinic_env.language.knowledge import exam_systems_in, test_catalog, test_resolver
from clinic_env.language.text import fold
from clinic_env.protocol.texts import ProtocolTexts, protocol_texts
from clinic_env.schema.action import Action, ActionKind
from clinic_env.schema.case import ExamFinding, MeasurementView, TestResult

WHOLE_EXAM_WORDS = frozenset(
    {"", "full", "complete", "physical", "general physical", "full physical", "head to toe"}
)


def format_hours(hours: float) -> str:
    if hours < 1:
        return f"{round(hours * 60)} min"
    if hours < 48:
        return f"{hours:g} h"
    return f"{hours / 24:g} days"


class OfflineMeasurement:
    """Looks results up in the case; deterministic and free of I/O."""

    offline = True

    def __init__(self, view: MeasurementView, rng: random.Random) -> None:
        self.view = view
        self.rng = rng
        self.texts: ProtocolTexts = protocol_texts()
        self.tests = test_resolver()
        self._case_tests = index_case_tests(view.tests)

    async def measure(self, action: Action) -> MeasurementResult:
        return self.lookup(action)

    def lookup(self, action: Action) -> MeasurementResult:
        """The synchronous core of :meth:`measure`."""
        if action.kind is ActionKind.ORDER_TEST:
            return self._test(action.text)
        if action.kind is ActionKind.EXAMINE:
            return self._exam(action.text)
        if action.kind is ActionKind.REQUEST_IMAGES:
            return self._images()
        raise ValueError(f"the measurement agent cannot answer a {action.kind.value} action")

    def _test(self, requested: str) -> MeasurementResult:
        canonical = self.tests.resolve(requested)
        result = self._case_tests.get(canonical or "") or self._case_tests.get(fold(requested))
        if result is not None:
            return self.test_result(result)
        listed = test_catalog().get(canonical) if canonical else None
        cost = listed.cost_usd if listed else 0.0
        hours = listed.turnaround_hours if listed else 0.0
        text = self.texts.test_normal.format(
            name=listed.name if listed else requested,
            cost=f"{cost:g}",
            turnaround=format_hours(hours),
        )
        return MeasurementResult(text, cost, hours, False)

    def test_result(self, result: TestResult) -> MeasurementResult:
        """A case test's result as the doctor sees it, with its price and wait."""
        text = self.texts.test_result.format(
            name=result.name,
            result=result.result,
            cost=f"{result.cost_usd:g}",
            turnaround=format_hours(result.turnaround_hours),
        )
        return MeasurementResult(text, result.cost_usd, result.turnaround_hours, True)

    def _exam(self, requested: str) -> MeasurementResult:
        folded = fold(requested).removesuffix(" examination").removesuffix(" exam")
        systems = () if folded in WHOLE_EXAM_WORDS else exam_systems_in(requested)
        if not systems and folded not in WHOLE_EXAM_WORDS:
            text = self.texts.exam_unrecognised.format(request=requested)
            return MeasurementResult(text, found=False)
        lines: list[str] = []
        found = False
        for system in systems or (None,):
            findings = [f for f in self.view.exam if system is None or fold(f.system) == system]
            lines.extend(self.format_finding(f) for f in findings)
            found = found or bool(findings)
            if not findings:
                lines.append(self.texts.exam_normal.format(system=system or "all systems"))
        return MeasurementResult("\n".join(lines), found=found)

    def format_finding(self, finding: ExamFinding) -> str:
        label = (
            finding.system
            if finding.name == finding.system
            else f"{finding.system}, {finding.name}"
        )
        return self.texts.exam_result.format(system=label, finding=finding.finding)

    def _images(self) -> MeasurementResult:
        if not self.view.images:
            return MeasurementResult(self.texts.images_none, found=False)
        # By kind and number only: a file name or URL can name the diagnosis, and the images
        # themselves reach the doctor with the observation.
        listing = "; ".join(
            f"image {number} ({image.kind})" for number, image in enumerate(self.view.images, 1)
        )
        text = self.texts.images_available.format(count=len(self.view.images), listing=listing)
        return MeasurementResult(text)


@functools.lru_cache(maxsize=4096)
def index_case_tests(tests: tuple[TestResult, ...]) -> dict[str, TestResult]:
    """Case tests keyed by their catalogue name (when they have one) and their folded names."""
    resolver = test_resolver()
    index: dict[str, TestResult] = {}
    for test in tests:
        for name in (test.name, *test.aliases):
            index.setdefault(fold(name), test)
            canonical = resolver.resolve(name)
            if canonical:
                index.setdefault(canonical, test)
    return index


@MEASUREMENTS.register("offline")
def make_offline_measurement(view: MeasurementView, rng: random.Random) -> OfflineMeasurement:
    return OfflineMeasurement(view, rng)
