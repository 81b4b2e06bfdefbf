"""The facts of one case as an inverted index of weighted terms, the facts that answer a
question, and the facts a free-text reply tells.

The offline patient retrieves by it; model-backed and human patients, the parallel env and the
fidelity checks judge by it which facts a reply told. Built once per case and shared.

A question is answered by what it asks, as a real patient would: a history question (past
history, medications, allergies, social, family, or a topic such as contraception) from the
facts of that category or topic only, matching an illness it names strictly; a question about
the illness itself from the story (presenting complaint, its history, the review of systems)
by the words and word groups it shares with the facts; a guess at or proposal of a diagnosis
by no fact at all, whatever it names.

A question may ask several things at once ("do you smoke or drink?", "any medical problems,
and what medication are you on?", "any fevers or coughing?"): its answers are ordered so that
the first tells one part, the next another, and so on (:meth:`FactIndex.answer`), before
any second fact of a part already told.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from clinic_env.language.identity import IdentityCache
from clinic_env.language.lexicon import Question, lexicon, same_word
from clinic_env.schema.case import Fact

RELEVANCE_THRESHOLD = math.log(1 + 3)
"""Minimum weighted overlap for a fact to count as an answer to a story question: a word (or
word group) held by at most a third of the case's facts is an answer alone (a case of too few
facts to reach it needs a word held by one fact)."""
CATEGORY_BONUS = 1.2
MAX_REMEMBERED_QUESTIONS = 4096
STORY_CATEGORIES = ("presenting_complaint", "history_of_present_illness")
STORY_TOPICS = frozenset((*STORY_CATEGORIES, "review_of_systems"))
"""An open question about these topics ("what brings you", "anything else") gets the story."""
OWN_HISTORY = frozenset(("past_history", "social"))
"""Where else a question about the patient's own symptoms may find its answer."""


@dataclass(frozen=True, slots=True)
class FactIndex:
    """The facts of one case as an inverted index of weighted terms, built once per case."""

    postings: dict[str, tuple[tuple[int, float], ...]]
    by_category: dict[str, tuple[int, ...]]
    story_order: tuple[int, ...]
    """The story's facts in the order a patient tells them: complaint, its history, systems."""
    fact_words: tuple[frozenset[str], ...]
    """Each fact's word stems (no synonym groups): what a free-text reply must echo."""
    fact_terms: tuple[frozenset[str], ...]
    """Each fact's stems and word-group ids."""
    categories: tuple[str, ...]
    """Each fact's category."""
    topics: tuple[frozenset[str], ...]
    """Each fact's category and the sensitive topics it touches (see the lexicon)."""
    answers: dict[Question, tuple[tuple[int, ...], int]] = field(default_factory=dict)
    """Relevant facts per question already asked of this case, and how many of the first
    tell a part of it not told before them (a pure function of both)."""

    def relevant(self, asked: Question) -> tuple[int, ...]:
        """The facts that answer ``asked``, best first (ties in case order), one per asked
        part first where it asks several."""
        return self.answer(asked)[0]

    def answer(self, asked: Question) -> tuple[tuple[int, ...], int]:
        """:meth:`relevant`'s facts, and how many of the first each tell another asked part
        (0 where the question asks one thing)."""
        known = self.answers.get(asked)
        if known is not None:
            return known
        found = self._spread(asked, self._find(asked))
        if asked.symptoms is not None:
            found = self._with_symptoms(found, self._story(asked.symptoms))
        if len(self.answers) < MAX_REMEMBERED_QUESTIONS:
            self.answers[asked] = found
        return found

    def _spread(self, asked: Question, found: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
        """``found`` with a fact of each part the question asks first, in the order their
        best facts came, and the number of those."""
        parts = self._parts(asked)
        if len(parts) < 2 or len(found) < 2:
            return found, 0
        first: list[int] = []
        rest: list[int] = []
        covered: set[str] = set()
        for fact in found:
            covers = self._covers(fact, parts)
            if covers - covered:
                first.append(fact)
                covered |= covers
            else:
                rest.append(fact)
        return (*first, *rest), (len(first) if len(first) > 1 else 0)

    @staticmethod
    def _with_symptoms(
        history: tuple[tuple[int, ...], int], story: tuple[int, ...]
    ) -> tuple[tuple[int, ...], int]:
        """A history answer with the story's answer to the question's symptom clauses: the
        history's first facts (one per part), then the story's first, then the rest."""
        found, parts = history
        if not story:
            return history
        if not found:
            return story, 0
        lead = max(parts, 1)
        rest = [fact for fact in (*found[lead:], *story[1:]) if fact != story[0]]
        return (*found[:lead], story[0], *rest), lead + 1

    def _parts(self, asked: Question) -> frozenset[str]:
        """What a question asks, part by part: the topic groups it names ("smoke", "drink")
        and the history categories no named group stands for; for a question about the
        illness, the word groups it names beyond the complaint as such ("fever", "cough")."""
        words = lexicon()
        history = asked.topics & words.history_categories
        if history or asked.groups:
            named = {words.topic_groups[g] for g in asked.groups}
            return asked.groups | (history - named)
        return frozenset(t for t in words.specific(asked.terms) if t.startswith("#"))

    def _covers(self, fact: int, parts: frozenset[str]) -> set[str]:
        covers = parts & self.fact_terms[fact]
        if self.categories[fact] in parts:
            covers = covers | {self.categories[fact]}
        return set(covers)

    def _find(self, asked: Question) -> tuple[int, ...]:
        if asked.kind != "ask" or asked.is_probe:
            return ()
        words = lexicon()
        history = asked.topics & words.history_categories
        anywhere = {g for g in asked.groups if words.topic_groups[g] == "any"}
        if history or anywhere:
            return self._history(asked, history, anywhere)
        return self._story(asked)

    def _history(
        self, asked: Question, categories: frozenset[str], anywhere: set[str]
    ) -> tuple[int, ...]:
        """Facts of the asked categories (or holding an asked topic group, filed anywhere):
        those an illness it names is found in; else those matching its words, where the
        pool holds any of them (a topic it names must be held: "do you smoke?"), or the whole
        pool; failing those, facts of a topic related to the one asked."""
        found = self._lookup(asked, categories, anywhere, asked.content)
        related = {r for g in anywhere for r in lexicon().related_topics.get(g, ())}
        if found or not related:
            return found
        return self._lookup(asked, categories, related, asked.content | related)

    def _lookup(
        self,
        asked: Question,
        categories: frozenset[str],
        anywhere: set[str],
        content: frozenset[str],
    ) -> tuple[int, ...]:
        pool = [
            i
            for i, terms in enumerate(self.fact_terms)
            if self.categories[i] in categories or terms & anywhere
        ]
        if not asked.named:
            held = set().union(*(self.fact_terms[i] for i in pool)) if pool else set()
            content = frozenset(t for t in content if t in held or t in lexicon().topic_groups)
        if not content:
            return tuple(pool)
        if asked.named:
            generic = lexicon().generic_diagnosis_words
            named = {t for t in content if not t.startswith("#") and t not in generic}
            return tuple(
                i for i in pool if any(same_word(a, b) for a in named for b in self.fact_words[i])
            )
        scores = {i: self._weight(content, i) for i in pool}
        return tuple(sorted((i for i in pool if scores[i] > 0), key=lambda i: -scores[i]))

    def _weight(self, terms: frozenset[str], fact: int) -> float:
        shared = terms & self.fact_terms[fact]
        return sum(w for t in shared for f, w in self.postings[t] if f == fact)

    def _story(self, asked: Question) -> tuple[int, ...]:
        """Facts scoring at least the threshold (lower for a case of few facts): the story's facts
        when any qualify; else the patient's own past or social history, by words other than the
        complaint's generic ones ("start", "problem") and those describing it ("all the time",
        "at night"), which would match any history. A word group asked that no story fact holds
        ("any weight loss?" where the weight is filed with the social history) is looked for
        there too, after the story."""
        scores: dict[int, float] = {}
        terms = asked.terms - lexicon().filler
        for term in terms:
            for fact, weight in self.postings.get(term, ()):
                scores[fact] = scores.get(fact, 0.0) + weight
        for topic in asked.topics & STORY_TOPICS:
            for fact in self.by_category.get(topic, ()):
                scores[fact] = scores.get(fact, 0.0) + CATEGORY_BONUS
        threshold = min(RELEVANCE_THRESHOLD, math.log(1 + len(self.fact_words)))
        ranked = sorted((-score, fact) for fact, score in scores.items() if score >= threshold)
        found = [fact for _, fact in ranked]
        story = [fact for fact in found if self.categories[fact] in STORY_TOPICS]
        specific = lexicon().specific(terms) - lexicon().attributes
        own = [
            fact
            for fact in found
            if self.categories[fact] in OWN_HISTORY and self._weight(specific, fact) >= threshold
        ]
        if not story:
            return tuple(own)
        told = set().union(*(self.fact_terms[fact] for fact in story))
        missing = {t for t in specific if t.startswith("#")} - told
        return (*story, *(fact for fact in own if self.fact_terms[fact] & missing))


def build_index(facts: tuple[Fact, ...]) -> FactIndex:
    """The index of a case's facts, built once per tuple of facts (found by its identity:
    hashing every fact on each episode cost more than the lookup), and shared with any
    equal tuple."""
    return _indexes(facts)


@functools.lru_cache(maxsize=4096)
def _index(facts: tuple[Fact, ...]) -> FactIndex:
    words = lexicon()
    fact_terms = tuple(words.terms(f"{f.text} {f.says or ''}") for f in facts)
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
    story = [i for c in (*STORY_CATEGORIES, "review_of_systems") for i in by_category.get(c, [])]
    sensitive = {f"#{name}": name for name in words.sensitive_topics}
    topics = tuple(
        frozenset({fact.category, *(sensitive[t] for t in terms if t in sensitive)})
        for fact, terms in zip(facts, fact_terms, strict=True)
    )
    return FactIndex(
        {term: tuple(entries) for term, entries in postings.items()},
        {category: tuple(indices) for category, indices in by_category.items()},
        tuple(story),
        tuple(frozenset(t for t in terms if not t.startswith("#")) for terms in fact_terms),
        fact_terms,
        tuple(fact.category for fact in facts),
        topics,
    )


_indexes = IdentityCache(_index, 4096)


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
