"""Loading the shared medical knowledge and resolving test and exam names through it.

A doctor may write "CBC", "full blood count" or "complete blood count"; a case may list
"Complete blood count". Both resolve to one catalogue entry, so the measurement agent finds
the case's result whatever name the doctor used.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from clinic_env.content import content_files, content_path, load_yaml_model
from clinic_env.errors import ContentError
from clinic_env.language.text import STOP_WORDS, fold, stem
from clinic_env.schema.knowledge import (
    CatalogTest,
    Disease,
    DiseaseFile,
    ExamCatalog,
    TestCatalog,
)

FUZZY_MIN_OVERLAP = 0.6
"""Share of a name's meaningful stems two names must have in common to be taken as the same."""


def name_stems(name: str) -> frozenset[str]:
    return frozenset(stem(w) for w in fold(name).split() if w not in STOP_WORDS)


class NameResolver:
    """Maps names and aliases to a canonical name: exact after folding, then by stem overlap."""

    def __init__(self, entries: Iterable[tuple[str, Iterable[str]]]) -> None:
        self._exact: dict[str, str] = {}
        self._stems: list[tuple[frozenset[str], str]] = []
        for canonical, aliases in entries:
            for name in (canonical, *aliases):
                folded = fold(name)
                if folded:
                    self._exact.setdefault(folded, canonical)
                    self._stems.append((name_stems(name), canonical))

    @functools.lru_cache(maxsize=16384)  # noqa: B019 - resolvers live as long as the process
    def resolve(self, name: str) -> str | None:
        folded = fold(name)
        if folded in self._exact:
            return self._exact[folded]
        wanted = name_stems(name)
        if not wanted:
            return None
        best, best_score = None, 0.0
        for stems, canonical in self._stems:
            if not stems:
                continue
            shared = len(wanted & stems)
            score = shared / max(len(wanted), len(stems))
            if score > best_score:
                best, best_score = canonical, score
        return best if best_score >= FUZZY_MIN_OVERLAP else None


@functools.cache
def test_catalog() -> dict[str, CatalogTest]:
    catalog = load_yaml_model(content_path("agents", "knowledge", "tests.yaml"), TestCatalog)
    return {test.name: test for test in catalog.tests}


@functools.cache
def test_resolver() -> NameResolver:
    return NameResolver((t.name, t.aliases) for t in test_catalog().values())


@functools.cache
def exam_catalog() -> ExamCatalog:
    return load_yaml_model(content_path("agents", "knowledge", "exams.yaml"), ExamCatalog)


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
