"""The facts of one case as an inverted index of weighted terms, and the facts a free-text
reply tells.

The offline patient retrieves by it; model-backed and human patients, the parallel env and the
fidelity checks judge by it which facts a reply told. Built once per case and shared.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from clinic_env.language.lexicon import Question, lexicon
from clinic_env.schema.case import Fact

RELEVANCE_THRESHOLD = 1.6
"""Minimum weighted overlap for a fact to count as an answer to the question."""
CATEGORY_BONUS = 1.2
MAX_REMEMBERED_QUESTIONS = 4096
STORY_CATEGORIES = ("presenting_complaint", "history_of_present_illness")
STORY_TOPICS = frozenset((*STORY_CATEGORIES, "review_of_systems"))
"""An open question about these topics ("what brings you", "anything else") gets the story."""


@dataclass(frozen=True, slots=True)
class FactIndex:
    """The facts of one case as an inverted index of weighted terms, built once per case."""

    postings: dict[str, tuple[tuple[int, float], ...]]
    by_category: dict[str, tuple[int, ...]]
    story_order: tuple[int, ...]
    fact_words: tuple[frozenset[str], ...]
    """Each fact's word stems (no synonym groups): what a free-text reply must echo."""
    answers: dict[Question, tuple[int, ...]] = field(default_factory=dict)
    """Relevant facts per question already asked of this case (a pure function of both)."""

    def relevant(self, asked: Question) -> tuple[int, ...]:
        """Facts scoring at least the threshold, best first (ties in case order)."""
        known = self.answers.get(asked)
        if known is not None:
            return known
        scores: dict[int, float] = {}
        for term in asked.terms:
            for fact, weight in self.postings.get(term, ()):
                scores[fact] = scores.get(fact, 0.0) + weight
        for topic in asked.topics:
            for fact in self.by_category.get(topic, ()):
                scores[fact] = scores.get(fact, 0.0) + CATEGORY_BONUS
        ranked = sorted(
            (-score, fact) for fact, score in scores.items() if score >= RELEVANCE_THRESHOLD
        )
        if len(self.answers) < MAX_REMEMBERED_QUESTIONS:
            self.answers[asked] = tuple(fact for _, fact in ranked)
        return tuple(fact for _, fact in ranked)


@functools.lru_cache(maxsize=4096)
def build_index(facts: tuple[Fact, ...]) -> FactIndex:
    words = lexicon()
    fact_terms = tuple(frozenset(words.terms(f"{f.text} {f.says or ''}")) for f in facts)
    frequency: dict[str, int] = {}
    for terms in fact_terms:
        for term in terms:
            frequency[term] = frequency.get(term, 0) + 1
    total = len(facts)
    postings: dict[str, list[tuple[int, float]]] = {}
    for i, terms in enumerate(fact_terms):
        for term in terms:
            postings.setdefault(term, []).append((i, math.log(1 + total / frequency[term])))
    by_category: dict[str, list[int]] = {}
    for i, fact in enumerate(facts):
        by_category.setdefault(fact.category, []).append(i)
    story = [i for i, f in enumerate(facts) if f.category in STORY_CATEGORIES]
    story += [i for i, f in enumerate(facts) if f.category not in STORY_CATEGORIES]
    return FactIndex(
        {term: tuple(entries) for term, entries in postings.items()},
        {category: tuple(indices) for category, indices in by_category.items()},
        tuple(story),
        tuple(frozenset(t for t in terms if not t.startswith("#")) for terms in fact_terms),
    )


ECHO_SHARE = 0.6
"""Share of a fact's words a free-text reply must contain for the fact to count as told."""


def facts_told(index: FactIndex, reply: str) -> tuple[int, ...]:
    """The facts a free-text (model) reply tells, judged by the words it shares with each."""
    said = {t for t in lexicon().terms(reply) if not t.startswith("#")}
    return tuple(
        i
        for i, words in enumerate(index.fact_words)
        if words and len(words & said) >= ECHO_SHARE * len(words)
    )
