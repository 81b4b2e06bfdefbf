"""Loading the shared medical knowledge and resolving test and exam names through it.

A doctor may write "CBC", "full blood count" or "complete blood count"; a case may list
"Complete blood count". Both resolve to one catalogue entry, so the measurement agent finds
the case's result whatever name the doctor used. Test names resolve strictly (the `names`
rules of ``tests.yaml``): a loose match must agree on every site, specimen and modality word,
and two entries that fit equally well are no match, because answering the wrong test is worse
than saying the name is not recognised.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path

from clinic_env.content import content_files, content_path, load_yaml_model
from clinic_env.errors import ContentError
from clinic_env.language.text import STOP_WORDS, fold, stem
from clinic_env.schema.knowledge import (
    AgeGroup,
    CatalogTest,
    Disease,
    DiseaseFile,
    ExamCatalog,
    ExamManoeuvre,
    NameRules,
    TestCatalog,
)

FUZZY_MIN_OVERLAP = 0.6
"""Share of a name's meaningful stems two names must have in common to be taken as the same."""

_SPELLINGS = (
    (re.compile(r"(?<=[a-z])ae"), "e"),  # haemoglobin, faecal
    (re.compile(r"oe(?=[a-z])"), "e"),  # oesophageal, oedema
    (re.compile(r"(?<=[a-z]{3})our$"), "or"),  # tumour
    (re.compile(r"graphy$"), "gram"),  # angiography, echocardiography
    (re.compile(r"(?<=[a-z]{2})is(e|ed|es|ing|ation)$"), r"iz\1"),  # luteinising
)


def name_stems(name: str) -> frozenset[str]:
    return frozenset(stem(w) for w in fold(name).split() if w not in STOP_WORDS)


@functools.lru_cache(maxsize=16384)
def _spelled(word: str) -> str:
    """One spelling for British and American forms, so both sides of a match agree."""
    for pattern, replacement in _SPELLINGS:
        word = pattern.sub(replacement, word)
    return word


class NameResolver:
    """Maps names and aliases to a canonical name: exact after folding, then by stems.

    Without ``rules`` (diseases) any name sharing enough stems resolves, the first best
    winning. With ``rules`` (tests) names are compared after word forms, spelling and ignored
    words, and may add only modifier words (side, view, contrast) to a name; a bare site or
    specimen left once ignored words are gone is too vague to resolve loosely, and a key two
    canonical names share, or a tie between them, is no match.
    """

    def __init__(
        self, entries: Iterable[tuple[str, Iterable[str]]], rules: NameRules | None = None
    ) -> None:
        self._strict = rules is not None
        rules = rules or NameRules()
        self._forms = tuple(
            sorted(((f" {fold(k)} ", f" {fold(v)} ") for k, v in rules.word_forms.items()),
                   key=lambda pair: -len(pair[0]))
        )  # fmt: skip
        self._ignored = frozenset(_spelled(w) for w in map(fold, rules.ignored))
        self._modifiers = frozenset().union(*map(self._words, rules.modifiers))
        self._distinctive = frozenset().union(*map(self._words, rules.distinctive))
        self._exact: dict[str, str] = {}
        self._keys: dict[frozenset[str], str | None] = {}
        self._stems: list[tuple[frozenset[str], str]] = []
        self._by_stem: dict[str, list[int]] = {}
        for canonical, aliases in entries:
            for name in (canonical, *aliases):
                folded = fold(name)
                if not folded:
                    continue
                self._exact.setdefault(folded, canonical)
                stems = self.key(name)
                known = self._keys.get(stems, canonical)
                if self._vague(stems, name):
                    self._keys[stems] = None
                    continue
                self._keys[stems] = canonical if known == canonical else None
                for word in stems:
                    self._by_stem.setdefault(word, []).append(len(self._stems))
                self._stems.append((stems, canonical))

    def _vague(self, stems: frozenset[str], name: str) -> bool:
        """A bare site, specimen or modality left once ignored words are gone ("thyroid"
        from "thyroid scan") names no one test, so it resolves only as written."""
        return len(stems) == 1 and stems <= self._distinctive and stems != self._words(name)

    def _words(self, text: str, ignored: frozenset[str] = frozenset()) -> frozenset[str]:
        padded = f" {fold(text)} "
        for form, spelled in self._forms:
            if form in padded:
                padded = padded.replace(form, spelled)
        spelled_words = (_spelled(w) for w in padded.split() if w not in STOP_WORDS)
        return frozenset(stem(w) for w in spelled_words if w not in ignored)

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - resolvers live as long as the process
    def key(self, name: str) -> frozenset[str]:
        """The stems that decide what a name means (word order and plurals do not)."""
        if not self._strict:
            return name_stems(name)
        return self._words(name, self._ignored)

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - resolvers live as long as the process
    def resolve(self, name: str) -> str | None:
        folded = fold(name)
        if folded in self._exact:
            return self._exact[folded]
        wanted = self.key(name)
        if not wanted:
            return None
        if not self._strict:
            return self._closest(wanted)
        if wanted in self._keys:
            return self._keys[wanted]
        best: str | None = None
        fewest, tied = len(wanted) + 1, False
        for index in sorted({i for word in wanted for i in self._by_stem.get(word, ())}):
            stems, canonical = self._stems[index]
            differ = wanted - stems
            if not stems <= wanted or not differ <= self._modifiers:
                continue
            if len(differ) < fewest:
                best, fewest, tied = canonical, len(differ), False
            elif len(differ) == fewest and canonical != best:
                tied = True
        return None if tied else best

    def _closest(self, wanted: frozenset[str]) -> str | None:
        best, best_score = None, 0.0
        for index in sorted({i for word in wanted for i in self._by_stem.get(word, ())}):
            stems, canonical = self._stems[index]
            score = len(wanted & stems) / max(len(wanted), len(stems))
            if score > best_score:
                best, best_score = canonical, score
        return best if best_score >= FUZZY_MIN_OVERLAP else None


def load_test_catalog(path: Path) -> TestCatalog:
    """A test catalogue file, checked: no name of one entry names another, and every
    component is an entry (errors name the file and the entries)."""
    catalog = load_yaml_model(path, TestCatalog)
    seen: dict[str, str] = {}
    for test in catalog.tests:
        for name in (test.name, *test.aliases):
            other = seen.setdefault(fold(name), test.name)
            if other != test.name:
                raise ContentError(f"{path}: {name!r} of {test.name!r} also names {other!r}")
    names = {test.name for test in catalog.tests}
    for test in catalog.tests:
        for part in test.components:
            if part not in names:
                raise ContentError(f"{path}: {test.name!r} lists unknown component {part!r}")
    return catalog


@functools.cache
def _test_catalog_file() -> TestCatalog:
    return load_test_catalog(content_path("agents", "knowledge", "tests.yaml"))


@functools.cache
def test_catalog() -> dict[str, CatalogTest]:
    return {test.name: test for test in _test_catalog_file().tests}


@functools.cache
def test_resolver() -> NameResolver:
    catalog = _test_catalog_file()
    return NameResolver(((t.name, t.aliases) for t in catalog.tests), catalog.names)


@functools.cache
def panels_holding(test: str) -> tuple[str, ...]:
    """The catalogue panels whose results report ``test`` (its entry's inverse components)."""
    return tuple(p.name for p in test_catalog().values() if test in p.components)


def padded_terms(names: Iterable[str]) -> tuple[str, ...]:
    """Folded phrases padded with spaces, for whole-word search in padded folded text."""
    return tuple(dict.fromkeys(f" {fold(n)} " for n in names if fold(n)))


@functools.cache
def report_terms(test: str) -> tuple[str, ...]:
    """The phrases by which another result's text reports ``test``."""
    listed = test_catalog()[test]
    return padded_terms((listed.name, *listed.aliases, *listed.reported_as))


def load_exam_catalog(path: Path) -> ExamCatalog:
    """An exam catalogue file, checked: every manoeuvre's test is in the test catalogue."""
    catalog = load_yaml_model(path, ExamCatalog)
    for manoeuvre in catalog.manoeuvres:
        if manoeuvre.test is not None and manoeuvre.test not in test_catalog():
            raise ContentError(f"{path}: {manoeuvre.name!r} names unknown test {manoeuvre.test!r}")
    return catalog


@functools.cache
def exam_catalog() -> ExamCatalog:
    return load_exam_catalog(content_path("agents", "knowledge", "exams.yaml"))


@functools.cache
def _exam_phrases() -> tuple[tuple[str, str], ...]:
    """(padded folded alias, system), longest alias first, so "heart sounds" wins over "heart"."""
    pairs = [
        (f" {fold(name)} ", system.name)
        for system in exam_catalog().systems
        for name in (system.name, *system.aliases)
    ]
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


@functools.lru_cache(maxsize=16384)
def exam_systems_in(request: str) -> tuple[str, ...]:
    """The exam systems a request names, in the order of the catalogue."""
    padded = f" {fold(request)} "
    named = {system for phrase, system in _exam_phrases() if phrase in padded}
    return tuple(s.name for s in exam_catalog().systems if s.name in named)


@functools.cache
def _manoeuvre_phrases() -> tuple[tuple[str, ExamManoeuvre], ...]:
    pairs = [
        (phrase, manoeuvre)
        for manoeuvre in exam_catalog().manoeuvres
        for phrase in padded_terms((manoeuvre.name, *manoeuvre.aliases))
    ]
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


@functools.lru_cache(maxsize=16384)
def manoeuvres_in(request: str) -> tuple[tuple[ExamManoeuvre, ...], str]:
    """The bedside manoeuvres a request names, and the request with their names taken out
    (so "visual fields" is the manoeuvre, not also the whole eye examination)."""
    padded = f" {fold(request)} "
    named: list[ExamManoeuvre] = []
    for phrase, manoeuvre in _manoeuvre_phrases():
        if phrase in padded:
            padded = padded.replace(phrase, " ")
            if manoeuvre not in named:
                named.append(manoeuvre)
    return tuple(named), padded.strip()


@functools.cache
def manoeuvre_terms(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A manoeuvre's padded names (how a finding is named for it) and every phrase by which
    a finding's text reports it."""
    manoeuvre = next(m for m in exam_catalog().manoeuvres if m.name == name)
    names = (manoeuvre.name, *manoeuvre.aliases)
    return padded_terms(names), padded_terms((*names, *manoeuvre.reported_as))


@functools.cache
def manoeuvre_for_test(test: str) -> ExamManoeuvre | None:
    """The manoeuvre whose exam finding answers ``test`` when the case holds no result for it."""
    return next((m for m in exam_catalog().manoeuvres if m.test == test), None)


@functools.cache
def diseases() -> tuple[Disease, ...]:
    """Every disease of the knowledge base, in file then entry order."""
    folder = content_path("agents", "knowledge", "diseases")
    found: list[Disease] = []
    seen: dict[str, str] = {}
    for path in content_files(folder):
        for disease in load_yaml_model(path, DiseaseFile).diseases:
            key = fold(disease.name)
            if key in seen:
                raise ContentError(f"{path}: disease {disease.name!r} is also in {seen[key]}")
            seen[key] = path.name
            found.append(disease)
    if not found:
        raise ContentError(f"{folder}: no disease files found")
    return tuple(found)


def age_group(age_years: float) -> AgeGroup:
    """The knowledge base's age band for an age in years (diseases list the bands they fit)."""
    if age_years < 2:
        return "infant"
    if age_years < 13:
        return "child"
    if age_years < 18:
        return "adolescent"
    if age_years < 65:
        return "adult"
    return "older_adult"
