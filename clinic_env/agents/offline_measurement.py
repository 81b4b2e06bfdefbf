"""The offline measurement agent: the examination room and the laboratory, by lookup.

A test request is answered, in this order, from:

1. the tests the record holds, found by their own names and aliases, by their group (a panel
   or record section such as "Serum laboratory values": every test in it), or through the
   catalogue ("U&E", "brain MRI", "Rubella IgM");
2. the parts of a panel the record holds as separate tests ("LFTs" when it lists ALT, AST);
3. the clause of another result that reports it: a component inside a recorded panel
   ("GGT" in the liver function tests) or a bedside sign in the examination ("pulse
   oximetry", "Dix-Hallpike"), so the room never contradicts the record;
4. for a recognised test the record does not hold, one reply that depends on the test alone,
   charged at the catalogue's cost and wait (so ordering cannot probe the record for free).
   The ``unrecorded`` policy words it: ``'unavailable'`` (the default) says the record holds
   no result, so nothing is falsely reported normal; ``'normal'`` keeps AgentClinic's
   convention ("normal readings") for replication. An exam of a system or manoeuvre the
   record does not hold follows the same policy;
5. for a name the catalogue does not recognise, one fixed reply, free and instant, that does
   not repeat the doctor's words.

Exams are asked by body system or by bedside manoeuvre ("REQUEST EXAM: Dix-Hallpike"). Every
phrase a reply takes from the catalogue or the request is listed in ``spared``; only case
data (test names, results, findings) is left to the leak guard, so no reply treats the name
of the true diagnosis differently from any other name.
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass
from typing import TypeVar, get_args

from clinic_env.agents.base import MEASUREMENTS, MeasurementResult, Unrecorded
from clinic_env.language.identity import IdentityCache
from clinic_env.language.knowledge import (
    exam_systems_in,
    manoeuvre_for_test,
    manoeuvre_terms,
    manoeuvres_in,
    panels_holding,
    report_terms,
    test_catalog,
    test_resolver,
)
from clinic_env.language.text import fold
from clinic_env.protocol.texts import ProtocolTexts, protocol_texts
from clinic_env.schema.action import Action, ActionKind
from clinic_env.schema.case import ExamFinding, MeasurementView, TestResult
from clinic_env.schema.knowledge import CatalogTest, ExamManoeuvre

WHOLE_EXAM_WORDS = frozenset(
    {"", "full", "complete", "physical", "general physical", "full physical", "head to toe"}
)
ALL_SYSTEMS = "all systems"
Key = TypeVar("Key")
_CLAUSES = re.compile(r"\s*;\s*|\.\s+(?=[A-Z(])|\n+")


def format_hours(hours: float) -> str:
    if hours < 1:
        return f"{round(hours * 60)} min"
    if hours < 48:
        return f"{hours:g} h"
    return f"{hours / 24:g} days"


@functools.lru_cache(maxsize=65536)
def clauses_with(text: str, terms: tuple[str, ...]) -> str:
    """The clauses of a result or finding that report one of ``terms`` (padded, folded):
    a value in a list ("potassium 3.1 mmol/L") where it stands alone, else its clause."""
    found: list[str] = []
    for clause in _CLAUSES.split(text.strip().rstrip(".")):
        if not clause or not _mentions(clause, terms):
            continue
        parts = [part for part in clause.split(", ") if _mentions(part, terms, valued=True)]
        found.append(", ".join(parts) if parts else clause)
    return "; ".join(found)


@functools.lru_cache(maxsize=65536)
def _mentions(text: str, terms: tuple[str, ...], valued: bool = False) -> bool:
    padded = f" {fold(text)} "
    return any(t in padded and (not valued or padded.replace(t, " ").strip()) for t in terms)


@dataclass(frozen=True, slots=True)
class TestIndex:
    """One case's tests keyed by name (folded stems), by group and by catalogue entry."""

    tests: tuple[TestResult, ...]
    by_name: dict[frozenset[str], tuple[int, ...]]
    by_group: dict[frozenset[str], tuple[int, ...]]
    by_entry: dict[str, tuple[int, ...]]


@functools.lru_cache(maxsize=4096)
def index_case_tests(tests: tuple[TestResult, ...]) -> TestIndex:
    """Built once per case and shared by every consultation of it."""
    resolver = test_resolver()
    by_name: dict[frozenset[str], list[int]] = {}
    by_group: dict[frozenset[str], list[int]] = {}
    by_entry: dict[str, list[int]] = {}
    for i, test in enumerate(tests):
        names = (test.name, *test.aliases)
        entries = {entry for entry in map(resolver.resolve, names) if entry}
        if not entries and test.group:  # "MRI" filed under "Brain imaging"
            entries = {e for e in [resolver.resolve(f"{test.name} {test.group}")] if e}
        for key in {resolver.key(name) for name in names} - {frozenset()}:
            by_name.setdefault(key, []).append(i)
        if test.group and (group := resolver.key(test.group)):
            by_group.setdefault(group, []).append(i)
        for entry in entries:
            by_entry.setdefault(entry, []).append(i)
    return TestIndex(tests, _frozen(by_name), _frozen(by_group), _frozen(by_entry))


def _frozen(table: dict[Key, list[int]]) -> dict[Key, tuple[int, ...]]:
    return {key: tuple(hits) for key, hits in table.items()}


_POLICIES: tuple[Unrecorded, ...] = get_args(Unrecorded)
"""The unrecorded policies, read off the type once (not on every reset)."""

MAX_REMEMBERED_REQUESTS = 4096
"""Answers kept per view; later requests are looked up afresh."""


@dataclass(frozen=True, slots=True)
class _Record:
    """What the agents of one view share: its tests' index and the answers given so far."""

    index: TestIndex
    answers: dict[tuple[ActionKind, str, Unrecorded], MeasurementResult]


def _record_of(view: MeasurementView) -> _Record:
    return _Record(index_case_tests(view.tests), {})


_records = IdentityCache(_record_of, 4096)
"""Per view object: the session's roles pass the same view of a case on every episode."""


class OfflineMeasurement:
    """Looks results up in the case; deterministic and free of I/O."""

    offline = True

    def __init__(
        self, view: MeasurementView, rng: random.Random, *, unrecorded: Unrecorded = "unavailable"
    ) -> None:
        if unrecorded not in _POLICIES:
            raise ValueError(f"unrecorded must be one of {_POLICIES}, not {unrecorded!r}")
        self.view = view
        self.rng = rng
        self.unrecorded = unrecorded
        self.texts: ProtocolTexts = protocol_texts()
        self.tests = test_resolver()
        self._record = _records(view)
        self._index = self._record.index

    async def measure(self, action: Action) -> MeasurementResult:
        return self.lookup(action)

    def lookup(self, action: Action) -> MeasurementResult:
        """The synchronous core of :meth:`measure`: a pure function of the view, the policy
        and the request, so each answer is kept for the view (doctors repeat requests on
        every episode of a case)."""
        key = (action.kind, action.text, self.unrecorded)
        answers = self._record.answers
        found = answers.get(key)
        if found is None:
            found = self._look_up(action)
            if len(answers) < MAX_REMEMBERED_REQUESTS:
                answers[key] = found
        return found

    def _look_up(self, action: Action) -> MeasurementResult:
        if action.kind is ActionKind.ORDER_TEST:
            return self._test(action.text)
        if action.kind is ActionKind.EXAMINE:
            return self._exam(action.text)
        if action.kind is ActionKind.REQUEST_IMAGES:
            return self._images()
        raise ValueError(f"the measurement agent cannot answer a {action.kind.value} action")

    def recognised(self, requested: str) -> CatalogTest | None:
        """The catalogue entry a test request names, if any."""
        entry = self.tests.resolve(requested)
        return test_catalog()[entry] if entry else None

    # ----------------------------------------------------------------------------- tests
    def _test(self, requested: str) -> MeasurementResult:
        index = self._index
        key = self.tests.key(requested)
        if key in index.by_name:
            return self.recorded_tests(index.by_name[key], requested)
        if key in index.by_group:
            hits = index.by_group[key]
            return self.recorded_tests(hits, index.tests[hits[0]].group or requested, spare=False)
        listed = self.recognised(requested)
        if listed is None:
            if manoeuvres_in(requested)[0]:
                return self._exam(requested)
            return unrecognised_test()
        if listed.name in index.by_entry:
            return self.recorded_tests(index.by_entry[listed.name], listed.name)
        parts = [i for part in listed.components for i in index.by_entry.get(part, ())]
        if parts:
            return self.recorded_tests(tuple(dict.fromkeys(parts)), listed.name)
        reports = self._reported_elsewhere(listed.name)
        if reports:
            text = self.texts.test_found_elsewhere.format(
                name=listed.name,
                results="; ".join(reports),
                cost=f"{listed.cost_usd:g}",
                turnaround=format_hours(listed.turnaround_hours),
            )
            return MeasurementResult(
                text, listed.cost_usd, listed.turnaround_hours, spared=(listed.name,)
            )
        return unrecorded_test(listed.name, self.unrecorded)

    def recorded_tests(
        self, hits: tuple[int, ...], label: str, spare: bool = True
    ) -> MeasurementResult:
        """One recorded test as itself; several under ``label``, priced together."""
        tests = [self._index.tests[i] for i in hits]
        if len(tests) == 1:
            return self.test_result(tests[0])
        cost = sum(t.cost_usd for t in tests)
        hours = max(t.turnaround_hours for t in tests)
        items = (self.texts.test_results_item.format(name=t.name, result=t.result) for t in tests)
        text = self.texts.test_results.format(
            name=label, results="\n".join(items), cost=f"{cost:g}", turnaround=format_hours(hours)
        )
        return MeasurementResult(text, cost, hours, spared=(label,) if spare else ())

    def test_result(self, result: TestResult) -> MeasurementResult:
        """A case test's result as the doctor sees it, with its price and wait."""
        text = self.texts.test_result.format(
            name=result.name,
            result=result.result,
            cost=f"{result.cost_usd:g}",
            turnaround=format_hours(result.turnaround_hours),
        )
        return MeasurementResult(text, result.cost_usd, result.turnaround_hours, True)

    def _reported_elsewhere(self, entry: str) -> list[str]:
        """Where the record reports ``entry`` without holding it: in a recorded panel's
        text, or (for a bedside sign) in an examination finding."""
        reports: list[str] = []
        seen: set[int] = set()
        for panel in panels_holding(entry):
            for i in self._index.by_entry.get(panel, ()):
                test = self._index.tests[i]
                clauses = "" if i in seen else clauses_with(test.result, report_terms(entry))
                seen.add(i)
                if clauses:
                    reports.append(
                        self.texts.test_reported_in.format(source=test.name, result=clauses)
                    )
        manoeuvre = manoeuvre_for_test(entry)
        for finding, text in self._findings_for(manoeuvre) if manoeuvre else ():
            source = self._label(finding)
            reports.append(self.texts.test_from_exam.format(source=source, result=text))
        return reports

    # ----------------------------------------------------------------------------- exams
    def _exam(self, requested: str) -> MeasurementResult:
        folded = fold(requested).removesuffix(" examination").removesuffix(" exam")
        if folded in WHOLE_EXAM_WORDS:
            return self._findings(
                [(ALL_SYSTEMS, [(self._label(f), f.finding) for f in self.view.exam])]
            )
        manoeuvres, rest = manoeuvres_in(requested)
        systems = exam_systems_in(rest) if rest else ()
        if not manoeuvres and not systems:
            listed = self.recognised(requested)
            linked = manoeuvre_for_test(listed.name) if listed else None
            manoeuvres = (linked,) if linked else ()
        if not manoeuvres and not systems:
            return unrecognised_exam()
        asked = [(m.name, self._manoeuvre_findings(m)) for m in manoeuvres]
        for system in systems:
            exam = self.view.exam
            asked.append(
                (system, [(self._label(f), f.finding) for f in exam if fold(f.system) == system])
            )
        return self._findings(asked)

    def _findings(self, asked: list[tuple[str, list[tuple[str, str]]]]) -> MeasurementResult:
        """Each (system or manoeuvre, its (label, finding) pairs) as the doctor sees them, or
        the policy's line for one with none."""
        missing = (
            self.texts.exam_normal if self.unrecorded == "normal" else self.texts.exam_unrecorded
        )
        lines: list[str] = []
        spared: list[str] = []
        for name, findings in asked:
            lines += (
                self.texts.exam_result.format(system=label, finding=text)
                for label, text in findings
            )
            if not findings:
                lines.append(missing.format(system=name))
                spared.append(name)
        found = len(spared) < len(asked)
        return MeasurementResult("\n".join(lines), found=found, spared=tuple(dict.fromkeys(spared)))

    def _manoeuvre_findings(self, manoeuvre: ExamManoeuvre) -> list[tuple[str, str]]:
        """A manoeuvre as the exam reports it, else as the record's result for its test."""
        found = [(self._label(f), text) for f, text in self._findings_for(manoeuvre)]
        if found or manoeuvre.test is None:
            return found
        tests = self._index.tests
        return [
            (tests[i].name, tests[i].result) for i in self._index.by_entry.get(manoeuvre.test, ())
        ]

    def _findings_for(self, manoeuvre: ExamManoeuvre) -> list[tuple[ExamFinding, str]]:
        """The findings named for a manoeuvre, else the clauses of findings that report it."""
        names, terms = manoeuvre_terms(manoeuvre.name)
        named = [(f, f.finding) for f in self.view.exam if _mentions(f.name, names)]
        if named:
            return named
        found = ((f, clauses_with(f.finding, terms)) for f in self.view.exam)
        return [(f, text) for f, text in found if text]

    @staticmethod
    def _label(finding: ExamFinding) -> str:
        if finding.name == finding.system:
            return finding.system
        return f"{finding.system}, {finding.name}"

    def format_finding(self, finding: ExamFinding) -> str:
        return self.texts.exam_result.format(system=self._label(finding), finding=finding.finding)

    # ---------------------------------------------------------------------------- images
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


@functools.cache
def unrecognised_test() -> MeasurementResult:
    """The one reply to any name the catalogue does not know: free, instant, no echo."""
    return MeasurementResult(protocol_texts().test_unrecognised, found=False)


@functools.cache
def unrecognised_exam() -> MeasurementResult:
    """The one reply to an exam naming no system or manoeuvre: no echo."""
    return MeasurementResult(protocol_texts().exam_unrecognised, found=False)


@functools.lru_cache(maxsize=4096)
def unrecorded_test(entry: str, policy: Unrecorded) -> MeasurementResult:
    """The reply to a recognised test the record does not hold: the test's alone."""
    listed = test_catalog()[entry]
    texts = protocol_texts()
    template = texts.test_normal if policy == "normal" else texts.test_unrecorded
    text = template.format(
        name=listed.name,
        cost=f"{listed.cost_usd:g}",
        turnaround=format_hours(listed.turnaround_hours),
    )
    return MeasurementResult(
        text, listed.cost_usd, listed.turnaround_hours, found=False, spared=(listed.name,)
    )


@MEASUREMENTS.register("offline", offline=True)
def make_offline_measurement(
    view: MeasurementView, rng: random.Random, *, unrecorded: Unrecorded = "unavailable"
) -> OfflineMeasurement:
    """Looks exams and tests up in the case's record and the catalogues; no model."""
    return OfflineMeasurement(view, rng, unrecorded=unrecorded)
