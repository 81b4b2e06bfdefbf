"""The facts of one finished consultation that several evaluators read.

The rubric, the inquiry, coverage, tests, fidelity and diagnosis evaluators all read the same
things off a transcript: what each question asked about, which case facts were told, which
tests were ordered, what the fidelity checks flagged. Each is worked out once per
consultation through :meth:`EvaluationContext.derived`, by the one function that defines it,
kept beside its rule (``episode_labels`` in ``inquiry``, ``episode_flags`` in ``fidelity``,
``episode_tests`` in ``scoring``), so no evaluator derives its own copy and none can drift
from another. :class:`EpisodeFacts` gathers them for the rubric's checks.
"""

from __future__ import annotations

import functools

from clinic_env.evaluators.fidelity import episode_flags, episode_validity
from clinic_env.evaluators.inquiry import episode_labels, is_question_to_patient
from clinic_env.evaluators.registry import EvaluationContext
from clinic_env.evaluators.scoring import episode_coverage, episode_must_not_miss, episode_tests
from clinic_env.language.lexicon import lexicon
from clinic_env.language.rules import phrase_sets_in
from clinic_env.schema.action import ActionKind
from clinic_env.schema.transcript import FidelityFlag, InquiryType, Validity


def episode_facts(context: EvaluationContext) -> EpisodeFacts:
    """The consultation's facts, gathered once (``context.derived(EpisodeFacts)``)."""
    return context.derived(EpisodeFacts)


class EpisodeFacts:
    """What the rubric's checks read off one finished consultation: what the turns record,
    in one pass over them, and the shared facts of the evaluators' modules, on first use."""

    def __init__(self, context: EvaluationContext) -> None:
        self.context = context
        self.transcript = transcript = context.transcript
        messages: list[str] = []
        questions: list[str] = []
        kinds: set[ActionKind] = set()
        for turn in transcript.turns:
            messages.append(turn.doctor_message)
            action = turn.action
            if action is None:
                continue
            kinds.add(action.kind)
            if is_question_to_patient(turn):
                questions.append(action.text)
        self.messages = tuple(messages)
        """Every doctor message, as sent."""
        self.questions = tuple(questions)
        """The questions to the patient."""
        self.kinds = frozenset(kinds)
        """The kinds of action the doctor took."""

    @property
    def coverage(self) -> float:
        """The share of the case's facts the patient told."""
        return self.context.derived(episode_coverage)

    @property
    def tests(self) -> tuple[tuple[float, float], ...]:
        """(cost, turnaround hours) of every test the doctor ordered."""
        return self.context.derived(episode_tests)

    @property
    def inquiry_labels(self) -> list[InquiryType | None]:
        """Each turn's inquiry type."""
        return self.context.derived(episode_labels)

    @property
    def fidelity_flags(self) -> list[tuple[FidelityFlag, ...]]:
        """Each turn's fidelity flags."""
        return self.context.derived(episode_flags)

    @property
    def validity(self) -> Validity:
        """The episode's validity label."""
        return self.context.derived(episode_validity)

    @property
    def must_not_miss_listed(self) -> bool | None:
        """Whether the differential lists every must-not-miss diagnosis (None: none flagged)."""
        return self.context.derived(episode_must_not_miss)

    @functools.cached_property
    def topics(self) -> frozenset[str]:
        """The history topics the questions to the patient touched."""
        words = lexicon()
        return frozenset(topic for text in self.questions for topic in words.question(text).topics)

    @functools.cached_property
    def said(self) -> frozenset[str]:
        """The names of the phrase sets the doctor's messages hold."""
        return frozenset[str]().union(*map(phrase_sets_in, self.messages))
