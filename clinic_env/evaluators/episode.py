"""The facts of one finished consultation that several evaluators read.

The rubric, the inquiry, coverage, tests, fidelity and diagnosis evaluators all read the same
things off a transcript: what each question asked about, which case facts were told, which
tests were ordered, what the fidelity checks flagged. Each is worked out here on first use
and kept for the consultation (``EvaluationContext.facts``), so no evaluator derives its own
copy and none can drift from another.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from clinic_env.evaluators.fidelity import FidelityChecker, validity_of
from clinic_env.evaluators.inquiry import inquiry_labels, is_question_to_patient
from clinic_env.evaluators.scoring import must_not_miss_listed
from clinic_env.language.lexicon import lexicon
from clinic_env.language.rules import phrase_sets_in
from clinic_env.schema.action import ActionKind
from clinic_env.schema.transcript import FidelityFlag, InquiryType, Validity

if TYPE_CHECKING:
    from clinic_env.evaluators.registry import EvaluationContext


class EpisodeFacts:
    """What the evaluators read off one finished consultation, each worked out at most once:
    what the turns record in one pass over them, what needs the rules on first use."""

    def __init__(self, context: EvaluationContext) -> None:
        self.context = context
        self.transcript = transcript = context.transcript
        messages: list[str] = []
        questions: list[str] = []
        kinds: set[ActionKind] = set()
        told: set[int] = set()
        tests: list[tuple[float, float]] = []
        for turn in transcript.turns:
            messages.append(turn.doctor_message)
            told.update(turn.facts_revealed)
            action = turn.action
            if action is None:
                continue
            kinds.add(action.kind)
            if action.kind is ActionKind.ORDER_TEST:
                tests.append((turn.cost_usd, turn.turnaround_hours))
            if is_question_to_patient(turn):
                questions.append(action.text)
        self.messages = tuple(messages)
        """Every doctor message, as sent."""
        self.questions = tuple(questions)
        """The questions to the patient."""
        self.kinds = frozenset(kinds)
        """The kinds of action the doctor took."""
        self.told = frozenset(told)
        """The case facts the patient told."""
        self.tests = tuple(tests)
        """(cost, turnaround hours) of every test the doctor ordered."""

    @functools.cached_property
    def coverage(self) -> float:
        """The share of the case's facts the patient told."""
        return len(self.told) / len(self.context.case.facts)

    @functools.cached_property
    def inquiry_labels(self) -> list[InquiryType | None]:
        """Each turn's inquiry type (see :func:`~clinic_env.evaluators.inquiry.inquiry_labels`)."""
        return inquiry_labels(self.transcript)

    @functools.cached_property
    def topics(self) -> frozenset[str]:
        """The history topics the questions to the patient touched."""
        words = lexicon()
        return frozenset(topic for text in self.questions for topic in words.question(text).topics)

    @functools.cached_property
    def said(self) -> frozenset[str]:
        """The names of the phrase sets the doctor's messages hold."""
        return frozenset[str]().union(*map(phrase_sets_in, self.messages))

    @functools.cached_property
    def fidelity_flags(self) -> list[tuple[FidelityFlag, ...]]:
        """Each turn's fidelity flags: as the session recorded them when it labelled the
        episode's validity, else worked out from the transcript."""
        if self.transcript.validity is not None:
            return [turn.fidelity for turn in self.transcript.turns]
        checker = FidelityChecker(self.context.case, self.context.persona)
        return checker.transcript_flags(self.transcript)

    @functools.cached_property
    def validity(self) -> Validity:
        """The episode's validity label: as the session recorded it, else worked out."""
        transcript = self.transcript
        if transcript.validity is not None:
            return transcript.validity
        return validity_of(self.fidelity_flags, transcript.error)

    @functools.cached_property
    def must_not_miss_listed(self) -> bool | None:
        """Whether the differential lists every must-not-miss diagnosis; None when the case
        flags none (see :func:`~clinic_env.evaluators.scoring.must_not_miss_listed`)."""
        context = self.context
        transcript = self.transcript
        return must_not_miss_listed(
            context.case,
            transcript.differential,
            context.matcher,
            options_shown=transcript.options_shown,
        )
