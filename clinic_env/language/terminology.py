"""A compact disease terminology derived from a public ontology, read lazily.

The matcher's hand-written table covers common names; this one adds the long tail: exact
synonyms (eponyms, older names, abbreviations), is-a links between diseases, diseases named
after the one organism that causes them, and terms listed under a disease as its synonym or
more specific form. It is derived by ``scripts/build_terminology.py`` from the Human Disease
Ontology (CC0 1.0) and the ICD-10-CM tabular list (US public domain; see
``docs/matching.md``) and shipped as ``evaluators/terminology/disease_ontology.json``.

It is loaded on first use by :meth:`DiagnosisMatcher.from_content`, never at import.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from pydantic import Field, ValidationError, model_validator

from clinic_env.content import content_path, validation_message
from clinic_env.errors import ContentError
from clinic_env.schema.base import Frozen

__all__ = ["BUNDLED_TERMINOLOGY", "Concept", "Terminology", "load_terminology"]

BUNDLED_TERMINOLOGY: tuple[str, ...] = ("evaluators", "terminology", "disease_ontology.json")


class Concept(Frozen):
    """One disease: its names (the preferred one first), its direct parents (is-a), and the
    concepts it is listed under as a synonym or a more specific form (ICD-10-CM inclusion
    terms), so that naming it names them."""

    names: tuple[str, ...] = Field(min_length=1)
    parents: tuple[int, ...] = ()
    within: tuple[int, ...] = ()


class Terminology(Frozen):
    """The derived table.

    Attributes:
        source: Where it was derived from (ontology, release, commit).
        licence: The source's licence.
        concepts: Diseases; a parent is the index of another concept.
        organisms: Organism name -> index of the one disease it causes.
    """

    source: str
    licence: str
    concepts: tuple[Concept, ...]
    organisms: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_links(self) -> Terminology:
        size = len(self.concepts)
        for index, concept in enumerate(self.concepts):
            for parent in (*concept.parents, *concept.within):
                if not 0 <= parent < size or parent == index:
                    raise ValueError(f"concept {index} {concept.names[0]!r}: bad link {parent}")
        for name, index in self.organisms.items():
            if not 0 <= index < size:
                raise ValueError(f"organism {name!r}: bad concept {index}")
        return self

    def ancestors(self, index: int, limit: int = 8) -> frozenset[int]:
        """Every concept above ``index`` (is-a, transitively, at most ``limit`` steps)."""
        found: set[int] = set()
        frontier = set(self.concepts[index].parents)
        for _ in range(limit):
            frontier -= found
            if not frontier:
                break
            found |= frontier
            frontier = {p for c in frontier for p in self.concepts[c].parents}
        return frozenset(found)


def load_terminology(path: Path | None = None) -> Terminology:
    """Read and validate a terminology file (the bundled one by default, read once)."""
    if path is None:
        return _bundled()
    return _read(path)


@functools.cache
def _bundled() -> Terminology:
    return _read(content_path(*BUNDLED_TERMINOLOGY))


def _read(path: Path) -> Terminology:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ContentError(f"{path}: cannot read the terminology ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise ContentError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from None
    try:
        return Terminology.model_validate(data)
    except ValidationError as exc:
        raise ContentError(validation_message(exc, path)) from None
