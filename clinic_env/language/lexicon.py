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

Before a question is read, its shorthand is written out (``rewrites``: "PMH", "meds", "SOB",
"ETOH", "u"; facts get the same), and a longer word the lexicon does not know that is one
slip of the keyboard from a word it does ("alergies", "histroy") is read as that word (see
:meth:`Lexicon.correct`). A question about the complaint's own character ("is it there all
the time?", "does it come and go?") asks about the illness now, as a cue would.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, fields
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
_MIN_TYPO = 5
"""Shortest word read as a slip of the keyboard (two letters swapped: "smkoe")."""
_MIN_SLIPPED = 6
"""Shortest word meant by a letter left out, added or replaced by a vowel ("alergies"):
shorter ones are too often other words ("fight" for "flight", "metal" for "meal")."""
_MIN_REPLACED = 8
"""Shortest word meant by one wrong consonant."""
_VOWELS = frozenset("aeiouy")
_COMPLAINT_PRONOUNS = frozenset(("it", "this", "that"))
"""Words by which a question refers to the complaint itself ("is it constant?")."""


class LexiconFile(Frozen):
    groups: dict[str, tuple[str, ...]] = Field(min_length=1)
    topics: dict[str, FactCategory | Literal["any"]]
    related_topics: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    sensitive_topics: tuple[str, ...]
    category_cues: dict[FactCategory, tuple[str, ...]]
    paired_cues: dict[FactCategory, tuple[tuple[str, str], ...]] = Field(default_factory=dict)
    """Two word groups that together, in one clause, ask about a category neither asks
    alone ("did a medicine bring you out in a rash?": allergies)."""
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
    rewrites: dict[str, str] = Field(default_factory=dict)
    """Shorthand written out before reading (folded words or phrases: "pmh", "etoh")."""
    known_words: tuple[str, ...] = ()
    """Everyday words one letter from a lexicon word, never read as a slip for it."""

    @model_validator(mode="after")
    def _known_groups(self) -> LexiconFile:
        related = {name for names in self.related_topics.values() for name in names}
        named = set(self.topics) | set(self.sensitive_topics) | set(self.related_topics) | related
        named |= {group for pairs in self.paired_cues.values() for pair in pairs for group in pair}
        unknown = sorted(named - set(self.groups))
        if unknown:
            raise ValueError(f"topics name groups that do not exist: {', '.join(unknown)}")
        if not set(self.statement_frames) <= set(self.guess_frames):
            raise ValueError("every statement frame must also be a guess frame")
        written = " " + " | ".join(fold(v) for v in self.rewrites.values()) + " "
        looping = sorted(k for k in self.rewrites if f" {fold(k)} " in written)
        if looping:
            raise ValueError(f"rewrites whose results are rewritten again: {', '.join(looping)}")
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
    symptoms: Question | None = field(default=None, repr=False)
    """For a history question that also asks about symptoms in a clause of its own ("any
    fever, and do you smoke?"): that clause read alone, answered from the story too."""
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compared = tuple(getattr(self, f.name) for f in fields(self) if f.compare)
        object.__setattr__(self, "_hash", hash(compared))

    def __hash__(self) -> int:
        """Worked out once: a question keys the fact index's answers on every reply."""
        return self._hash


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


def _slip(typed: str, word: str) -> bool:
    """Whether ``typed`` is ``word`` with one slip of the keyboard inside it: two neighbouring
    letters swapped; in a longer word a letter left out or one added (not the first or last,
    where a different word is likelier: "slight", "tables") or a vowel for a vowel; in a
    long word any letter for another."""
    if typed[0] != word[0] or abs(len(typed) - len(word)) > 1:
        return False
    if len(typed) == len(word):
        differ = [i for i, (a, b) in enumerate(zip(typed, word, strict=True)) if a != b]
        if len(differ) == 2:
            i, j = differ
            return j == i + 1 and typed[i] == word[j] and typed[j] == word[i]
        if len(differ) != 1 or len(word) < _MIN_SLIPPED:
            return False
        a, b = typed[differ[0]], word[differ[0]]
        return (a in _VOWELS and b in _VOWELS) or len(word) >= _MIN_REPLACED
    if len(word) < _MIN_SLIPPED:
        return False
    short, long = (typed, word) if len(typed) < len(word) else (word, typed)
    at = next((i for i, (a, b) in enumerate(zip(short, long, strict=False)) if a != b), len(short))
    return 0 < at < len(short) and short[at:] == long[at + 1 :]


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class Lexicon:
    """Term extraction and question reading; built once and shared by every patient."""

    def __init__(self, data: LexiconFile) -> None:
        self.data = data
        # shorthand written out: single words by lookup, phrases ("h o") by search
        self._rewrite_words = {
            fold(k): fold(v) for k, v in data.rewrites.items() if " " not in fold(k)
        }
        self._rewrite_phrases = tuple(
            (f" {fold(k)} ", f" {fold(v)} ") for k, v in data.rewrites.items() if " " in fold(k)
        )
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
        self._spanning_cues, self._paired_cues = self._compound_cues()
        history_cues = " ".join(" ".join(data.category_cues[c]) for c in data.history_categories)
        story_cues = data.category_cues.get("presenting_complaint", ()) + data.category_cues.get(
            "history_of_present_illness", ()
        )
        self.complaint_cues = self.terms(" ".join(story_cues))
        """Terms (with their groups) of a question about the complaint as such."""
        self.filler = self.terms(" ".join(data.filler_words)) - set(self.topic_groups)
        """Terms that say nothing about what is asked (kept out of matching)."""
        self._not_content = (self.terms(history_cues) | self.filler) - set(self.topic_groups)
        # word groups of the history's cues and topics ("tablets", "family", "smoke")
        self._history_groups = frozenset(
            t for t in self.terms(history_cues) | set(self.topic_groups) if t.startswith("#")
        )
        self.open_questions = _padded_phrases(data.open_questions)
        self.diagnosis_probes = _padded_phrases(data.diagnosis_probes)
        self.yes_no_openers = frozenset(fold(word) for word in data.yes_no_openers)
        self._openers = self.yes_no_openers | _WH_WORDS
        # where a message starts another question: a full stop, or a comma or "and" before
        # a question's opening word ("any fever, and do you smoke?"; not "any heart
        # problems, strokes or diabetes in the family?")
        self._questions = re.compile(
            rf"[?.!;]|(?:,|,?\s+(?:and|or|but))\s+(?=(?:{'|'.join(sorted(self._openers))})\b)",
            re.IGNORECASE,
        )
        self._ice = {kind: _padded_phrases(p) for kind, p in data.ice.items()}
        self._guess_frames = _padded_phrases(data.guess_frames)
        self._statement_frames = frozenset(_padded_phrases(data.statement_frames))
        self._history_frames = _padded_phrases(data.history_frames)
        self._past_markers = _padded_phrases(data.past_markers)
        self._rapport = {kind: _padded_phrases(p) for kind, p in data.rapport.items()}
        self._plan_subjects = _padded_phrases(data.plan_subjects)
        self._plan_verbs = frozenset(word_stem(fold(v)) for v in data.plan_verbs)
        self._attributes = frozenset(word_stem(fold(w)) for w in data.attribute_words)
        self.attributes = self._attributes  # words describing the complaint ("constant")
        self._prepositions = frozenset(fold(w) for w in data.location_prepositions)
        self._body_parts = frozenset(word_stem(fold(w)) for w in data.body_parts)
        self._diagnosis_words = frozenset(word_stem(fold(w)) for w in data.diagnosis_words)
        self._suffixes = tuple(fold(s) for s in data.diagnosis_suffixes)
        self.generic_diagnosis_words = frozenset(
            word_stem(fold(w)) for w in data.generic_diagnosis_words
        )
        self._lay = frozenset(self._word_groups) | self._attributes | self._body_parts
        self._kb_phrases, self._kb_abbreviations = self._known_names()
        self._targets, self._known = self._vocabulary()

    def _compound_cues(
        self,
    ) -> tuple[dict[str, tuple[str, ...]], tuple[tuple[str, frozenset[str]], ...]]:
        """Cue phrases holding a clause break ("fit and well"), found in the whole message
        rather than clause by clause; and the paired cues, as the pair's group ids."""
        spanning: dict[str, tuple[str, ...]] = {
            category: tuple(p for p in phrases if _CLAUSES.search(p.strip()))
            for category, phrases in self._cue_phrases.items()
        }
        paired: tuple[tuple[str, frozenset[str]], ...] = tuple(
            (category, frozenset(f"#{group}" for group in pair))
            for category, pairs in self.data.paired_cues.items()
            for pair in pairs
        )
        return spanning, paired

    def _vocabulary(self) -> tuple[dict[str, set[str]], frozenset[str]]:
        """The words a slip may be read as (the groups', cues' and open questions' words of
        five letters or more, by each form with one letter left out, itself included), and
        the words never read as a slip: every word of the lexicon and of the knowledge base's
        names and findings, stop words, and their stems."""
        data = self.data
        targets: dict[str, set[str]] = {}
        sources = (
            *data.groups.values(),
            *data.category_cues.values(),
            data.open_questions,
            tuple(data.rewrites),
        )
        for phrase in (p for group in sources for p in group):
            for word in fold(phrase).split():
                if len(word) >= _MIN_TYPO - 1 and word not in STOP_WORDS:
                    for key in {word} | _deletions(word):
                        targets.setdefault(key, set()).add(word)
        known = set(STOP_WORDS)
        for value in data.model_dump().values():
            known.update(fold(" ".join(_strings(value))).split())
        for disease in diseases():
            names = (disease.name, *disease.aliases, *disease.findings)
            known.update(fold(" ".join(names)).split())
        known.update({word_stem(w) for w in known})
        return targets, frozenset(known)

    def correct(self, word: str) -> str:
        """``word`` (folded), or the lexicon word it is one slip of the keyboard from, where
        it is long enough, not itself a known word or a form of one, and the slip is of one
        word only."""
        if len(word) < _MIN_TYPO or word in self._known or not word.isalpha():
            return word
        return self._corrected(word)

    @functools.lru_cache(maxsize=16384)  # noqa: B019 - one lexicon per process
    def _corrected(self, word: str) -> str:
        if word_stem(word) in self._known:
            return word
        found = set(self._targets.get(word, ()))
        for key in _deletions(word):
            found.update(self._targets.get(key, ()))
        slips = {w for w in found if w != word and _slip(word, w)}
        stems = {word_stem(w) for w in slips}
        return min(slips) if len(stems) == 1 else word

    def rewrite(self, folded: str) -> str:
        """Folded text with its shorthand written out ("pmh" - "past medical history")."""
        table = self._rewrite_words
        words = folded.split()
        if any(w in table for w in words):
            folded = " ".join(table.get(w, w) for w in words)
        if self._rewrite_phrases:
            padded = f" {folded} "
            for phrase, written in self._rewrite_phrases:
                if phrase in padded:
                    padded = padded.replace(phrase, written)
            folded = padded.strip()
        return folded

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - one lexicon per process
    def normal(self, text: str) -> str:
        """A doctor's message as the patient reads it: folded, slips of the keyboard read as
        the words meant, shorthand written out."""
        words = fold(text).split()
        return self.rewrite(" ".join(self.correct(w) for w in words))

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
        words, no stray letters such as the "t" of "can't"), its shorthand written out."""
        folded = self.rewrite(fold(text))
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
        with ``groups``, also the categories of the topics the clause names ("smoke") and of
        the word groups it pairs ("medicine" with "rash")."""
        whole = f" {self.normal(text)} "
        found = {c for c, cues in self._spanning_cues.items() if cues and _says(whole, cues)}
        for clause in _CLAUSES.split(text):
            padded = f" {self.normal(clause)} "
            if not padded.strip():
                continue
            stems = {word_stem(word) for word in padded.split()}
            here: set[str] = {c for c, cues in self._cue_phrases.items() if _says(padded, cues)}
            here |= {c for c, cues in self._cue_stems.items() if stems & cues}
            if groups:
                clause_terms = self.terms(padded)
                here |= {
                    self.topic_groups[g]
                    for g in clause_terms & set(self.topic_groups)
                    if self.topic_groups[g] != "any"
                }
                here |= {c for c, pair in self._paired_cues if pair <= clause_terms}
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
        """Whether a folded word is a diagnosis word or has a diagnosis ending (a generic word
        alone, "any diseases in the family?", names none)."""
        normal = word_stem(word)
        if normal in self.generic_diagnosis_words:
            return False
        if normal in self._diagnosis_words:
            return True
        # a word of a symptom group ("dysuria", "diarrhoea", "myalgia") is a symptom, whatever
        # its ending: "any diarrhoea?" asks about the complaint, not a past illness
        suffixed = len(word) >= _MIN_SUFFIXED and word.endswith(self._suffixes)
        return suffixed and normal not in self._word_groups

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

    def _about_it(self, folded: str) -> bool:
        """Whether a question asks only how the complaint itself behaves ("is it there all
        the time?", "does it come and go?"): it refers to the complaint, and every other
        meaningful word describes it."""
        words = folded.split()
        if not _COMPLAINT_PRONOUNS & set(words):
            return False
        meaningful = [word_stem(w) for w in words if w not in STOP_WORDS]
        return bool(meaningful) and all(w in self._attributes for w in meaningful)

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
        folded = self.normal(text)
        padded = f" {folded} "
        terms = self.terms(folded)
        ice = frozenset(kind for kind, phrases in self._ice.items() if _says(padded, phrases))
        framed = _says(padded, self._history_frames)
        plain = self._clause_categories(text, groups=False)
        cues = set(plain)
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
            # a topic or pair of words in a clause may outweigh its plain cues ("did a
            # medicine bring you out in a rash?" asks about allergies, not medication)
            cues = (cues - plain) | with_topics
        topics = cues | (self.categories(terms) - self.history_categories)
        if kind == "ask" and not topics and self._about_it(folded):
            topics = {"history_of_present_illness"}
        history = bool(topics & self.history_categories)
        if kind == "ask" and not history and not ice and self._plans(padded):
            kind = "proposal"
        symptoms = self._symptom_clauses(text) if history and kind == "ask" else None
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
            symptoms=symptoms,
        )

    def _symptom_clauses(self, text: str) -> Question | None:
        """The questions within a history question that ask about symptoms alone ("any
        fever" in "any fever, and do you smoke?"), read together; None where it has none. One
        counts when, read alone, it asks, names no illness, no history category, topic or
        word group of the history ("creams"), and names a word group beyond the complaint as
        such ("fever")."""
        clauses = [c for c in self._questions.split(text) if c.strip()]
        if len(clauses) < 2:
            return None
        found = []
        for clause in clauses:
            asked = self.question(clause)
            if asked.kind != "ask" or asked.named or asked.groups or asked.ice:
                continue
            if asked.topics & self.history_categories or asked.terms & self._history_groups:
                continue
            if any(t.startswith("#") for t in self.specific(asked.terms) - self._attributes):
                found.append(clause.strip())
        return self.question(", ".join(found) + "?") if found else None

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


def _strings(value: object) -> list[str]:
    """Every string in a loaded content value (keys of mappings included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _strings(item)]
    return []


@functools.cache
def lexicon() -> Lexicon:
    return Lexicon(
        load_yaml_model(content_path("agents", "knowledge", "lexicon.yaml"), LexiconFile)
    )
