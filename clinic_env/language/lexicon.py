"""How the offline patient reads a doctor's message: word groups, what a question asks about,
and whether it names an illness.

Loaded from ``agents/knowledge/lexicon.yaml``. Text becomes a set of *terms*: light stems
plus the ids of the word groups they belong to, so "breathless" in a question meets
"short of breath" in a fact. A question is read once per distinct text into a
:class:`Question`: the history categories it asks about, the words that say what it asks
(``content``), and its kind. A question whether the illness *now* is something ("is it X?",
"might I have X?") is a *guess*, and a doctor's statement of one ("I think it's X") or of a
plan is a *proposal*: the patient's reply to either never depends on the name, so no name
can be told from another by the reply (the answer-oracle rule of the design). A history
question that names an illness ("have you had X before?", "does anyone in your family have
X?") is answered from the facts of that category alone, matching the name strictly.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field, model_validator

from clinic_env.content import content_path, load_yaml_model
from clinic_env.language.knowledge import diseases
from clinic_env.language.text import STOP_WORDS, fold, stem
from clinic_env.schema.base import Frozen
from clinic_env.schema.case import FactCategory

IceKind = Literal["ideas", "concerns", "expectations"]
QuestionKind = Literal["ask", "guess", "proposal"]
_CLAUSES = re.compile(r"[?.!;,]|\band\b|\bor\b|\bbut\b", re.I)
_RAW_TOKENS = re.compile(r"[A-Za-z0-9]+")
_WH_WORDS = frozenset(("what", "when", "where", "which", "who", "why", "how", "tell"))
_MIN_SUFFIXED = 6
"""Shortest word a diagnosis suffix marks ("otitis" yes, "coma" no)."""


class LexiconFile(Frozen):
    groups: dict[str, tuple[str, ...]] = Field(min_length=1)
    topics: dict[str, FactCategory | Literal["any"]]
    related_topics: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    sensitive_topics: tuple[str, ...]
    category_cues: dict[FactCategory, tuple[str, ...]]
    history_categories: tuple[FactCategory, ...]
    category_overrides: dict[FactCategory, tuple[FactCategory, ...]]
    filler_words: tuple[str, ...]
    open_questions: tuple[str, ...]
    diagnosis_probes: tuple[str, ...] = Field(min_length=1)
    ice: dict[IceKind, tuple[str, ...]]
    guess_frames: tuple[str, ...] = Field(min_length=1)
    statement_frames: tuple[str, ...]
    history_frames: tuple[str, ...]
    past_markers: tuple[str, ...]
    attribute_words: tuple[str, ...]
    location_prepositions: tuple[str, ...]
    body_parts: tuple[str, ...]
    diagnosis_words: tuple[str, ...]
    diagnosis_suffixes: tuple[str, ...]
    generic_diagnosis_words: tuple[str, ...]
    plan_subjects: tuple[str, ...]
    plan_verbs: tuple[str, ...]
    rapport: dict[str, tuple[str, ...]]
    yes_no_openers: tuple[str, ...]

    @model_validator(mode="after")
    def _known_groups(self) -> LexiconFile:
        related = {name for names in self.related_topics.values() for name in names}
        named = set(self.topics) | set(self.sensitive_topics) | set(self.related_topics) | related
        unknown = sorted(named - set(self.groups))
        if unknown:
            raise ValueError(f"topics name groups that do not exist: {', '.join(unknown)}")
        if not set(self.statement_frames) <= set(self.guess_frames):
            raise ValueError("every statement frame must also be a guess frame")
        return self


@dataclass(frozen=True, slots=True)
class Question:
    """What the patient needs to know about a question, computed once per distinct text."""

    terms: frozenset[str]
    topics: frozenset[str]
    """The fact categories asked about."""
    is_probe: bool
    is_open: bool
    is_yes_no: bool
    content: frozenset[str] = frozenset()
    """Terms saying what is asked: no category cue, frame or filler words."""
    kind: QuestionKind = "ask"
    named: bool = False
    """The question names an illness: a history lookup matches the name strictly."""
    ice: frozenset[str] = frozenset()
    """The patient's ideas, concerns or expectations asked for."""
    rapport: frozenset[str] = frozenset()
    """Kinds of rapport the doctor's message builds (empathy, confidentiality, ...)."""
    groups: frozenset[str] = field(default=frozenset(), repr=False)
    """The topic groups the question names (smoking, work, contraception, ...)."""
    is_statement: bool = False
    """No question mark and no question opening: the doctor says something rather than asks."""


@functools.lru_cache(maxsize=65536)
def word_stem(word: str) -> str:
    """The light stem of a folded word, evened out where the stemmer leaves forms apart:
    a final "e" dropped ("temperature", "temperatures") and a doubled final consonant undone
    ("running", "run")."""
    found = stem(word)
    if len(found) > 4 and found.endswith("e"):
        found = found[:-1]
    if len(found) > 3 and found[-1] == found[-2] and found[-1] not in "aeiouslz":
        found = found[:-1]
    return found


def _padded_phrases(phrases: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f" {fold(p)} " for p in phrases if fold(p))


def _says(padded: str, phrases: tuple[str, ...]) -> bool:
    return any(phrase in padded for phrase in phrases)


def _is_abbreviation(name: str) -> bool:
    """A knowledge-base name written as capitals ("MG", "T1DM"): matched as written only."""
    return " " not in name.strip() and sum(c.isupper() for c in name) >= 2


class Lexicon:
    """Term extraction and question reading; built once and shared by every patient."""

    def __init__(self, data: LexiconFile) -> None:
        self.data = data
        self._word_groups: dict[str, set[str]] = {}
        self._phrase_groups: list[tuple[str, str]] = []
        for name, members in data.groups.items():
            for member in members:
                folded = fold(member)
                if " " in folded:
                    self._phrase_groups.append((f" {folded} ", f"#{name}"))
                else:
                    self._word_groups.setdefault(word_stem(folded), set()).add(f"#{name}")
        self.topic_groups = {f"#{name}": category for name, category in data.topics.items()}
        self.related_topics = {
            f"#{name}": frozenset(f"#{other}" for other in others)
            for name, others in data.related_topics.items()
        }
        self.sensitive_topics = frozenset(data.sensitive_topics)
        self.history_categories = frozenset(data.history_categories)
        self.category_cues: dict[str, frozenset[str]] = {
            category: self.terms(" ".join(cues)) - self._group_ids()
            for category, cues in data.category_cues.items()
        }
        self._cue_phrases = {
            category: _padded_phrases(tuple(cue for cue in cues if " " in cue.strip()))
            for category, cues in data.category_cues.items()
        }
        self._cue_stems = {
            category: frozenset(word_stem(fold(cue)) for cue in cues if " " not in cue.strip())
            for category, cues in data.category_cues.items()
        }
        history_cues = " ".join(" ".join(data.category_cues[c]) for c in data.history_categories)
        story_cues = data.category_cues.get("presenting_complaint", ()) + data.category_cues.get(
            "history_of_present_illness", ()
        )
        self.complaint_cues = self.terms(" ".join(story_cues))
        """Terms (with their groups) of a question about the complaint as such."""
        self.filler = self.terms(" ".join(data.filler_words)) - set(self.topic_groups)
        """Terms that say nothing about what is asked (kept out of matching)."""
        self._not_content = (self.terms(history_cues) | self.filler) - set(self.topic_groups)
        self.open_questions = _padded_phrases(data.open_questions)
        self.diagnosis_probes = _padded_phrases(data.diagnosis_probes)
        self.yes_no_openers = frozenset(fold(word) for word in data.yes_no_openers)
        self._openers = self.yes_no_openers | _WH_WORDS
        self._ice = {kind: _padded_phrases(p) for kind, p in data.ice.items()}
        self._guess_frames = _padded_phrases(data.guess_frames)
        self._statement_frames = frozenset(_padded_phrases(data.statement_frames))
        self._history_frames = _padded_phrases(data.history_frames)
        self._past_markers = _padded_phrases(data.past_markers)
        self._rapport = {kind: _padded_phrases(p) for kind, p in data.rapport.items()}
        self._plan_subjects = _padded_phrases(data.plan_subjects)
        self._plan_verbs = frozenset(word_stem(fold(v)) for v in data.plan_verbs)
        self._attributes = frozenset(word_stem(fold(w)) for w in data.attribute_words)
        self._prepositions = frozenset(fold(w) for w in data.location_prepositions)
        self._body_parts = frozenset(word_stem(fold(w)) for w in data.body_parts)
        self._diagnosis_words = frozenset(word_stem(fold(w)) for w in data.diagnosis_words)
        self._suffixes = tuple(fold(s) for s in data.diagnosis_suffixes)
        self.generic_diagnosis_words = frozenset(
            word_stem(fold(w)) for w in data.generic_diagnosis_words
        )
        self._lay = frozenset(self._word_groups) | self._attributes | self._body_parts
        self._kb_phrases, self._kb_abbreviations = self._known_names()

    def _group_ids(self) -> set[str]:
        ids = {g for groups in self._word_groups.values() for g in groups}
        return ids | {g for _, g in self._phrase_groups}

    def _known_names(self) -> tuple[dict[str, list[tuple[tuple[str, ...], bool]]], frozenset[str]]:
        """Knowledge-base names by first folded word (with whether every word of the name is
        everyday vocabulary), and the capital-letter abbreviations."""
        phrases: dict[str, list[tuple[tuple[str, ...], bool]]] = {}
        abbreviations = set()
        for disease in diseases():
            for name in (disease.name, *disease.aliases):
                if _is_abbreviation(name):
                    abbreviations.add(name.strip())
                    continue
                words = tuple(fold(name).split())
                if words:
                    lay = all(word_stem(w) in self._lay or w in STOP_WORDS for w in words)
                    phrases.setdefault(words[0], []).append((words, lay))
        return phrases, frozenset(abbreviations)

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - one lexicon per process
    def terms(self, text: str) -> frozenset[str]:
        """Stems of the meaningful words of ``text`` and the ids of their word groups (no stop
        words, no stray letters such as the "t" of "can't")."""
        folded = fold(text)
        found: set[str] = set()
        for word in folded.split():
            if word in STOP_WORDS or (len(word) == 1 and not word.isdigit()):
                continue
            normal = word_stem(word)
            found.add(normal)
            groups = self._word_groups.get(normal)
            if groups:
                found.update(groups)
        padded = f" {folded} "
        for phrase, group_id in self._phrase_groups:
            if phrase in padded:
                found.add(group_id)
        return frozenset(found)

    def specific(self, terms: frozenset[str]) -> frozenset[str]:
        """Terms naming something beyond the complaint as such: no cue of a question about
        the complaint ("start", "worse"), no word of such a cue's group ("began"), no filler."""
        cues = self.complaint_cues
        return frozenset(
            t
            for t in terms - cues - self.filler
            if not (self._word_groups.get(t) and self._word_groups[t] <= cues)
        )

    def categories(self, terms: frozenset[str]) -> frozenset[str]:
        """The fact categories a question's terms point at (by single cue words only)."""
        return frozenset(c for c, cues in self.category_cues.items() if terms & cues)

    def _clause_categories(self, text: str, groups: bool) -> frozenset[str]:
        """Categories asked, clause by clause, a clause's dominant cues outweighing others;
        with ``groups``, also the categories of the topics the clause names ("smoke")."""
        found: set[str] = set()
        for clause in _CLAUSES.split(text):
            padded = f" {fold(clause)} "
            if not padded.strip():
                continue
            stems = {word_stem(word) for word in padded.split()}
            here: set[str] = {c for c, cues in self._cue_phrases.items() if _says(padded, cues)}
            here |= {c for c, cues in self._cue_stems.items() if stems & cues}
            if groups:
                here |= {
                    self.topic_groups[g]
                    for g in self.terms(clause) & set(self.topic_groups)
                    if self.topic_groups[g] != "any"
                }
            for category, beaten in self.data.category_overrides.items():
                if category in here:
                    here -= set(beaten)
            found |= here
        return frozenset(found)

    def _kb_names(self, words: list[str]) -> list[bool]:
        """For each knowledge-base name found in ``words``: whether it is everyday words only."""
        found = []
        for i, word in enumerate(words):
            for name, lay in self._kb_phrases.get(word, ()):
                if tuple(words[i : i + len(name)]) == name:
                    found.append(lay)
        return found

    def _diagnostic(self, word: str) -> bool:
        """Whether a folded word is a diagnosis word or has a diagnosis ending."""
        if word_stem(word) in self._diagnosis_words:
            return True
        return len(word) >= _MIN_SUFFIXED and word.endswith(self._suffixes)

    def names_illness(self, text: str, *, lay_names: bool = False) -> bool:
        """Whether ``text`` names an illness: a knowledge-base name or abbreviation, a
        diagnosis word or ending. Names made only of everyday words ("sore throat") count
        only with ``lay_names`` (inside a guess frame), since a symptom question uses them."""
        if any(token in self._kb_abbreviations for token in _RAW_TOKENS.findall(text)):
            return True
        words = fold(text).split()
        if any(self._diagnostic(word) for word in words if word not in STOP_WORDS):
            return True
        return any(lay_names or not lay for lay in self._kb_names(words))

    def _describes_complaint(self, words: list[str]) -> bool:
        """Whether every meaningful word after a guess frame is about the complaint itself:
        everyday symptom words, or a body part after a preposition ("in your chest"), not a
        body part alone ("hand, foot and mouth")."""
        previous: list[str] = []
        for word in words:
            normal = word_stem(word)
            located = normal in self._body_parts and bool(set(previous[-2:]) & self._prepositions)
            if not (word in STOP_WORDS or word.isdigit() or word in self._prepositions):
                if normal in self._body_parts and not located:
                    return False
                if not (normal in self._lay or located):
                    return False
            previous.append(word)
        return True

    def _frame(self, padded: str, raw: str) -> QuestionKind:
        """ "guess" or "proposal" when a frame puts a name to the illness now, else "ask"."""
        for frame in self._guess_frames:
            at = padded.find(frame)
            if at < 0:
                continue
            rest = padded[at + len(frame) :]
            words = rest.split()
            if not [w for w in words if w not in STOP_WORDS]:
                continue
            if self.names_illness(rest, lay_names=True) or not self._describes_complaint(words):
                return "proposal" if frame in self._statement_frames and "?" not in raw else "guess"
        if any(token in self._kb_abbreviations for token in _RAW_TOKENS.findall(raw)):
            return "guess" if "?" in raw else "proposal"
        return "ask"

    def _plans(self, padded: str) -> bool:
        """Whether the doctor proposes an action ("I'd like to order an X-ray")."""
        for subject in self._plan_subjects:
            at = padded.find(subject)
            if at >= 0:
                following = padded[at + len(subject) :].split()[:4]
                if any(word_stem(word) in self._plan_verbs for word in following):
                    return True
        return False

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - one lexicon per process
    def question(self, text: str) -> Question:
        """Everything the patient reads off a message (doctors repeat themselves a lot)."""
        folded = fold(text)
        padded = f" {folded} "
        terms = self.terms(folded)
        ice = frozenset(kind for kind, phrases in self._ice.items() if _says(padded, phrases))
        framed = _says(padded, self._history_frames)
        cues = set(self._clause_categories(text, groups=False))
        with_topics = self._clause_categories(text, groups=True)
        past = framed and _says(padded, self._past_markers)
        if past and not with_topics & self.history_categories:
            cues.add("past_history")
        kind = self._frame(padded, text)
        asks_history = bool(cues & self.history_categories)
        named = kind == "ask" and self.names_illness(text, lay_names=framed or asks_history)
        statement = "?" not in text and folded.split(" ", 1)[0] not in self._openers
        if named and statement:
            kind = "proposal"
        elif named and not asks_history:
            if framed and not ice:
                cues.add("past_history")
            else:
                kind = "guess"
        if not named:
            cues |= with_topics
        topics = cues | (self.categories(terms) - self.history_categories)
        history = bool(topics & self.history_categories)
        if kind == "ask" and not history and not ice and self._plans(padded):
            kind = "proposal"
        return Question(
            terms=terms,
            topics=frozenset(topics),
            is_probe=_says(padded, self.diagnosis_probes),
            is_open=_says(padded, self.open_questions),
            is_yes_no=folded.split(" ", 1)[0] in self.yes_no_openers,
            content=terms - self._not_content,
            kind=kind,
            named=named and history,
            ice=ice,
            rapport=frozenset(k for k, phrases in self._rapport.items() if _says(padded, phrases)),
            groups=frozenset() if named else terms & frozenset(self.topic_groups),
            is_statement=statement,
        )

    def diagnosis_stems(self, name: str) -> frozenset[str]:
        """The stems that tell a diagnosis name from others (no generic or stop words)."""
        return frozenset(
            word_stem(w)
            for w in fold(name).split()
            if w not in STOP_WORDS and word_stem(w) not in self.generic_diagnosis_words
        )


_SHARED_RUN = 6
"""Letters two diagnosis words may share in a row before they count as the same word."""


def same_word(a: str, b: str) -> bool:
    """Whether two diagnosis stems name the same thing: equal, one the other's head or tail
    ("gout", "pseudogout"), or sharing a run of letters ("myasthenia", "myasthenic")."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    if len(short) >= 4 and (long.startswith(short) or long.endswith(short)):
        return True
    return any(short[i : i + _SHARED_RUN] in long for i in range(len(short) - _SHARED_RUN + 1))


def share_distinctive_word(first: str, second: str) -> bool:
    """Whether two diagnosis names share a word that is not generic (after folding and
    stemming): "Tension pneumothorax" and "Primary spontaneous pneumothorax" do, "Acute
    gout" and "Acute appendicitis" do not."""
    words = lexicon()
    left, right = words.diagnosis_stems(first), words.diagnosis_stems(second)
    return any(same_word(a, b) for a in left for b in right)


@functools.cache
def lexicon() -> Lexicon:
    return Lexicon(
        load_yaml_model(content_path("agents", "knowledge", "lexicon.yaml"), LexiconFile)
    )
