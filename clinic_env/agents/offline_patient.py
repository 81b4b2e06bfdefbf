"""The offline patient: answers from the case's facts, never invents, never diagnoses.

It retrieves the facts most relevant to the doctor's question (weighted word overlap with
synonym groups, a bonus when the question's topic matches a fact's category), tells at most
as many as its persona's verbosity allows, may hold a fact back the first time it is asked
(persona disclosure), denies or says it does not know what the case does not contain, grows
impatient after its persona's patience runs out, and deflects any attempt to make it name a
diagnosis or reveal its instructions. Its words are the case's facts and the content files'
phrases, nothing else, so it cannot state what the case does not hold.
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass

from clinic_env.agents.base import PATIENTS, PatientQuestion, PatientReply
from clinic_env.agents.lexicon import Lexicon, lexicon
from clinic_env.content import content_path, load_yaml_model
from clinic_env.schema.base import Frozen
from clinic_env.schema.case import Fact, PatientView
from clinic_env.schema.persona import Persona
from clinic_env.text import fold

RELEVANCE_THRESHOLD = 1.6
"""Minimum weighted overlap for a fact to count as an answer to the question."""
CATEGORY_BONUS = 1.2
STORY_CATEGORIES = ("presenting_complaint", "history_of_present_illness")
STORY_TOPICS = frozenset((*STORY_CATEGORIES, "review_of_systems"))
"""An open question about these topics ("what brings you", "anything else") gets the story."""


class PatientPhrases(Frozen):
    unknown: tuple[str, ...]
    deny: tuple[str, ...]
    deflect: tuple[str, ...]
    hesitate: tuple[str, ...]
    nothing_more: tuple[str, ...]
    speaker_self: str


@functools.cache
def default_phrases() -> PatientPhrases:
    return load_yaml_model(
        content_path("agents", "prompts", "offline_patient.yaml"), PatientPhrases
    )


@dataclass(frozen=True, slots=True)
class FactIndex:
    """The facts of one case as weighted term sets, built once per case."""

    terms: tuple[frozenset[str], ...]
    weights: dict[str, float]
    categories: tuple[str, ...]
    story_order: tuple[int, ...]


@functools.lru_cache(maxsize=4096)
def build_index(facts: tuple[Fact, ...]) -> FactIndex:
    words = lexicon()
    fact_terms = tuple(frozenset(words.terms(f"{f.text} {f.says or ''}")) for f in facts)
    frequency: dict[str, int] = {}
    for terms in fact_terms:
        for term in terms:
            frequency[term] = frequency.get(term, 0) + 1
    total = len(facts)
    weights = {term: math.log(1 + total / count) for term, count in frequency.items()}
    story = [i for i, f in enumerate(facts) if f.category in STORY_CATEGORIES]
    story += [i for i, f in enumerate(facts) if f.category not in STORY_CATEGORIES]
    return FactIndex(fact_terms, weights, tuple(f.category for f in facts), tuple(story))


def speaker_label(view: PatientView) -> str:
    """Who is talking: "Patient", or the caregiver ("Mother") for infants and small children."""
    if view.informant == "caregiver" and view.caregiver:
        return view.caregiver[:1].upper() + view.caregiver[1:]
    return default_phrases().speaker_self


class OfflinePatient:
    """A deterministic, fact-grounded patient driven by a persona's numbers."""

    offline = True

    def __init__(self, view: PatientView, persona: Persona, rng: random.Random) -> None:
        self.view = view
        self.persona = persona
        self.rng = rng
        self.words: Lexicon = lexicon()
        self.index = build_index(view.facts)
        defaults = default_phrases()
        phrases = persona.phrases
        self.unknown = phrases.unknown or defaults.unknown
        self.deny = defaults.deny
        self.deflect = defaults.deflect
        self.hesitate = defaults.hesitate
        self.nothing_more = defaults.nothing_more
        self.cues = phrases.cues
        self.impatience = phrases.impatience
        self.openers = phrases.openers
        behaviour = persona.behaviour
        self.max_facts = 1 + round(behaviour.verbosity * 2)
        self.told: set[int] = set()
        self.withheld: set[int] = set()
        self.turns = 0

    async def reply(self, question: PatientQuestion) -> PatientReply:
        return self.answer(question.text)

    def answer(self, question: str) -> PatientReply:
        """The synchronous core of :meth:`reply` (no I/O)."""
        self.turns += 1
        folded = fold(question)
        padded = f" {folded} "
        if self.words.is_diagnosis_probe(padded):
            return PatientReply(self._decorate(self.rng.choice(self.deflect)))
        chosen, held_back = self._select(folded, padded)
        if chosen:
            body = " ".join(self._voice(self.view.facts[i]) for i in chosen)
        elif held_back:
            body = self.rng.choice(self.hesitate)
        elif self.words.is_open_question(padded):
            body = self.rng.choice(self.nothing_more)
        elif self.words.is_yes_no(folded):
            body = self.rng.choice(self.deny)
        else:
            body = self.rng.choice(self.unknown)
        self.told.update(chosen)
        return PatientReply(self._decorate(body), tuple(chosen))

    def _select(self, folded: str, padded: str) -> tuple[list[int], bool]:
        """The facts to tell, and whether a relevant fact was held back."""
        terms = self.words.terms(folded)
        topics = self.words.categories(terms)
        if self.words.is_open_question(padded) and topics <= STORY_TOPICS:
            candidates = [i for i in self.index.story_order if i not in self.told]
        else:
            candidates = self._relevant(terms, topics)
        chosen: list[int] = []
        held_back = False
        disclosure = self.persona.behaviour.disclosure
        for i in candidates:
            if len(chosen) == self.max_facts:
                break
            if i in self.told or i in self.withheld or self.rng.random() < disclosure:
                chosen.append(i)
            else:
                self.withheld.add(i)
                held_back = True
        return chosen, held_back

    def _relevant(self, question_terms: set[str], categories: set[str]) -> list[int]:
        if not question_terms:
            return []
        weights = self.index.weights
        scored: list[tuple[float, int]] = []
        for i, terms in enumerate(self.index.terms):
            score = sum(weights[t] for t in question_terms & terms)
            if self.index.categories[i] in categories:
                score += CATEGORY_BONUS
            if score >= RELEVANCE_THRESHOLD:
                scored.append((-score, i))
        scored.sort()
        return [i for _, i in scored]

    def _voice(self, fact: Fact) -> str:
        return fact.says or fact.text

    def _decorate(self, body: str) -> str:
        """Add the persona's opener, emotional cue and impatience around the answer."""
        behaviour = self.persona.behaviour
        parts = []
        if self.openers and self.rng.random() < 0.5:
            parts.append(self.rng.choice(self.openers))
        parts.append(body)
        if self.cues and self.rng.random() < behaviour.emotional_cues:
            parts.append(self.rng.choice(self.cues))
        if self.impatience and self.turns > behaviour.patience:
            parts.append(self.rng.choice(self.impatience))
        return " ".join(parts)


@PATIENTS.register("offline")
def make_offline_patient(view: PatientView, persona: Persona, rng: random.Random) -> OfflinePatient:
    return OfflinePatient(view, persona, rng)
