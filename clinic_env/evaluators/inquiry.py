"""The four inquiry types: what each question to the patient asked about.

Inquiry-diagnosis studies sort a doctor's questions into the chief complaint, specifying
symptoms the patient has already mentioned, accompanying symptoms not yet mentioned, and
family and medical history. The offline rules read a question against what the patient (and
the brief) has said so far, with the patient's lexicon (synonym groups, topic cues) and the
cues in ``evaluators/rules/inquiry.yaml``; the model option asks a judge to label every
question in one call and reports its agreement with the rules.
"""

from __future__ import annotations

import functools
import re
from collections import deque
from collections.abc import Sequence
from typing import get_args

from clinic_env.agents.model_role import ModelRole
from clinic_env.errors import AgentError
from clinic_env.evaluators.llm_judge import read_json_object
from clinic_env.evaluators.registry import EVALUATORS, EvaluationContext, score_component
from clinic_env.language.lexicon import lexicon
from clinic_env.language.rules import inquiry_rules, phrase_set, says_any
from clinic_env.llm.prompts import render_prompt
from clinic_env.protocol.texts import protocol_texts
from clinic_env.schema.action import ActionKind
from clinic_env.schema.transcript import InquiryType, ScoreComponent, Transcript, Turn

INQUIRY_TYPES: tuple[InquiryType, ...] = (
    "chief_complaint",
    "known_symptoms",
    "accompanying_symptoms",
    "history",
)
"""The four types that count as clinical inquiry; "other" is everything else."""
ALL_LABELS: tuple[str, ...] = get_args(InquiryType)
_ASK = ActionKind.ASK
"""A module name: an enum class's attributes go through its metaclass hook in 3.11, slowly."""


@functools.cache
def _generic_terms() -> frozenset[str]:
    """Terms too general to tie a question to a symptom already named."""
    words = lexicon()
    hpi = words.category_cues.get("history_of_present_illness", frozenset())
    return words.terms(" ".join(inquiry_rules().generic_terms)) | hpi


@functools.cache
def _weak_terms() -> frozenset[str]:
    """Terms that tie a question to a named symptom only when it names nothing else."""
    return lexicon().terms(" ".join(inquiry_rules().weak_terms)) - _generic_terms()


_SENTENCE_END = re.compile(r"[.!?\n]\s*")  # the marks go too: terms ignore punctuation


@functools.cache
def _ignored_terms() -> frozenset[str]:
    """What a reply's words never make known: the protocol's own words and generic ones."""
    return _protocol_terms() | _generic_terms()


@functools.lru_cache(maxsize=65536)
def _made_known(sentence: str) -> frozenset[str]:
    """The terms one sentence of a reply makes known."""
    return lexicon().terms(sentence) - _ignored_terms()


@functools.cache
def _protocol_terms() -> frozenset[str]:
    """Terms of the protocol's own wording, which the opening observation carries."""
    texts = protocol_texts()
    boilerplate = (texts.opening, texts.options, texts.turns_left, texts.last_turn)
    return lexicon().terms(" ".join(boilerplate))


def is_question_to_patient(turn: Turn) -> bool:
    return turn.responder == "patient" and turn.action is not None and turn.action.kind is _ASK


@functools.lru_cache(maxsize=4096)
def _opening_terms(opening: str) -> frozenset[str]:
    """The terms the opening observation makes known (a case's opening comes back in every
    episode of it)."""
    return lexicon().terms(opening) - _protocol_terms() - _generic_terms()


@functools.lru_cache(maxsize=65536)
def _question_reading(question: str) -> tuple[InquiryType, frozenset[str]]:
    """What a question's own words decide: its inquiry type, or the symptom terms it names,
    when whether they were said before decides between known and accompanying symptoms
    (worked out once per question: doctors repeat theirs)."""
    rules = inquiry_rules()
    if says_any(question, rules.chief_complaint):
        return "chief_complaint", frozenset()
    asked = lexicon().question(question)
    if not asked.topics.isdisjoint(rules.history_topics):
        return "history", frozenset()
    if asked.is_probe:
        return "other", frozenset()
    specific = asked.terms - _generic_terms()
    if specific:
        return "accompanying_symptoms", specific - _weak_terms() or specific
    if says_any(question, phrase_set("courtesy")):
        return "other", frozenset()
    if "history_of_present_illness" in asked.topics:
        return "known_symptoms", frozenset()
    if asked.is_open or "review_of_systems" in asked.topics:
        return "accompanying_symptoms", frozenset()
    return "other", frozenset()


class InquiryTracker:
    """Labels a consultation's questions in order, remembering the symptoms mentioned.

    What was said is read only when a question needs it (one naming a symptom): most
    questions are told apart by their own words, so most replies are never read for terms.
    """

    def __init__(self, opening: str) -> None:
        self._opening = opening
        self._said: list[frozenset[str]] = []
        """The terms of the opening and of each reply read so far."""
        self._unread: deque[str] = deque()

    def _mentioned(self, terms: frozenset[str]) -> bool:
        """Whether any of ``terms`` was said before: in the opening or a reply heard (replies
        are read in order, only as far as needed)."""
        said = self._said
        if not said:
            said.append(_opening_terms(self._opening))
        if any(not known.isdisjoint(terms) for known in said):
            return True
        unread = self._unread
        while unread:
            known = _reply_terms(unread.popleft())
            said.append(known)
            if not known.isdisjoint(terms):
                return True
        return False

    def classify(self, question: str) -> InquiryType:
        """The inquiry type of one question, given what has been said before it."""
        label, symptoms = _question_reading(question)
        if symptoms:
            return "known_symptoms" if self._mentioned(symptoms) else "accompanying_symptoms"
        return label

    def heard(self, reply: str) -> None:
        """Remember what the patient said, so later questions about it are specifying ones."""
        self._unread.append(reply)


@functools.lru_cache(maxsize=16384)
def _reply_terms(reply: str) -> frozenset[str]:
    """The terms a reply makes known, read sentence by sentence: replies mix the same
    sentences differently every time, and each sentence's terms are worked out once; a reply
    said again (offline patients repeat themselves) is one lookup."""
    return frozenset().union(*map(_made_known, filter(None, _SENTENCE_END.split(reply))))


def inquiry_labels(transcript: Transcript) -> list[InquiryType | None]:
    """Each turn's inquiry type (None for turns that are not questions to the patient): as
    recorded when every question carries one (the session labels them), else worked out."""
    labels: list[InquiryType | None] = []
    for turn in transcript.turns:
        if not is_question_to_patient(turn):
            labels.append(None)
        elif turn.inquiry is None:
            return _worked_out_labels(transcript)
        else:
            labels.append(turn.inquiry)
    return labels


def _worked_out_labels(transcript: Transcript) -> list[InquiryType | None]:
    """Each turn's inquiry type, read in order as the session reads them."""
    tracker = InquiryTracker(transcript.opening_observation)
    labels: list[InquiryType | None] = []
    for turn in transcript.turns:
        if not is_question_to_patient(turn):
            labels.append(None)
            continue
        assert turn.action is not None
        labels.append(tracker.classify(turn.action.text))
        tracker.heard(turn.observation)
    return labels


def episode_labels(context: EvaluationContext) -> list[InquiryType | None]:
    """Each turn's inquiry type (see :func:`inquiry_labels`), read with
    ``context.derived(episode_labels)``."""
    return inquiry_labels(context.transcript)


def _counts(evaluator: str, prefix: str, labels: Sequence[str | None]) -> list[ScoreComponent]:
    components = [
        score_component(f"{prefix}_{kind}", float(labels.count(kind)), evaluator)
        for kind in INQUIRY_TYPES
    ]
    covered = sum(kind in labels for kind in INQUIRY_TYPES) / len(INQUIRY_TYPES)
    components.append(score_component(f"{prefix}_types_covered", covered, evaluator))
    return components


class InquiryEvaluator:
    """How many questions of each inquiry type the doctor asked, and how many types it used."""

    name = "inquiry_rules"
    produces = (*(f"inquiry_{kind}" for kind in INQUIRY_TYPES), "inquiry_types_covered")

    async def evaluate(self, context: EvaluationContext) -> list[ScoreComponent]:
        return _counts(self.name, "inquiry", context.derived(episode_labels))


class UnreadableLabelsError(AgentError):
    """The judge's labels could not be read."""


def parse_labels(text: str, count: int) -> list[str]:
    """``{"1": "history", ...}`` for questions 1..count, each a known label."""
    data = read_json_object(text)
    if data is None:
        raise UnreadableLabelsError(f"the judge's labels are not a JSON object: {text[:120]!r}")
    labels = []
    for number in range(1, count + 1):
        label = str(data.get(str(number), "")).strip().lower()
        if label not in ALL_LABELS:
            raise UnreadableLabelsError(f"question {number} has no known label ({label!r})")
        labels.append(label)
    return labels


class LLMInquiryEvaluator:
    """A judge model labels every question in one call; agreement with the rules is reported."""

    name = "inquiry_llm"
    produces = (
        *(f"inquiry_llm_{kind}" for kind in INQUIRY_TYPES),
        "inquiry_llm_types_covered",
        "inquiry_llm_agreement",
    )

    def __init__(self, judge: ModelRole) -> None:
        self.judge = judge

    async def evaluate(self, context: EvaluationContext) -> list[ScoreComponent]:
        transcript = context.transcript
        questions = [t for t in transcript.turns if is_question_to_patient(t)]
        if not questions:
            return []
        lines = []
        for number, turn in enumerate(questions, start=1):
            assert turn.action is not None
            lines.append(f"Q{number} (doctor): {turn.action.text}\n{turn.observation}")
        prompt = render_prompt(
            "inquiry",
            opening=transcript.opening_observation.split("\n\n", 1)[0],
            conversation="\n".join(lines),
            count=str(len(questions)),
        )
        completion = await self.judge.complete([{"role": "user", "content": prompt}])
        labels = parse_labels(completion.text, len(questions))
        rules = [label for label in context.derived(episode_labels) if label is not None]
        agreement = sum(a == b for a, b in zip(labels, rules, strict=True)) / len(labels)
        return [
            *_counts(self.name, "inquiry_llm", labels),
            ScoreComponent(name="inquiry_llm_agreement", value=agreement, evaluator=self.name),
        ]


@EVALUATORS.register("inquiry", offline=True)
def make_inquiry(judge: ModelRole | None) -> InquiryEvaluator:
    """Questions of each inquiry type the doctor asked (by rules), and the types it used."""
    return InquiryEvaluator()


@EVALUATORS.register("inquiry_llm", needs_judge=True)
def make_llm_inquiry(judge: ModelRole | None) -> LLMInquiryEvaluator:
    """A judge model labels every question; its agreement with the rules is reported."""
    assert judge is not None  # create_evaluators checks needs_judge first
    return LLMInquiryEvaluator(judge)
