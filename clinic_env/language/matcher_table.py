"""Schema and loader of the matcher's hand-written table (``evaluators/synonyms/diagnoses.yaml``).

The table holds what no rule can derive: groups of names for one disease, irregular spelling
variants, the qualifier classes (site, cause, course, ...) a more specific diagnosis may add,
and the words that make a diagnosis generic or a name a disease. The loader checks the
table's own consistency, so that a bad edit fails on load with file, line and field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from clinic_env.content import content_path, load_yaml_model
from clinic_env.language.matcher_rules import is_negated, normal_words
from clinic_env.schema.base import Frozen

__all__ = ["BUNDLED_SYNONYMS", "QualifierClass", "SynonymTable", "load_synonym_table"]

BUNDLED_SYNONYMS: tuple[str, ...] = ("evaluators", "synonyms", "diagnoses.yaml")
"""Parts of the bundled table's path, for :func:`clinic_env.content.content_path`."""

_WORD = re.compile(r"^[a-z0-9]+$")

SynonymGroup = Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(min_length=2)]


def _check_word(word: str, where: str) -> None:
    if not _WORD.match(word):
        raise ValueError(f"{where}: {word!r} is not one lower-case word without accents")


class QualifierClass(Frozen):
    """Words of one kind (site, cause, course, ...) that make a diagnosis more specific.

    Attributes:
        name: What the words qualify, for messages and docs.
        words: Folded single words.
        exclusive: Whether two different words of the class name different diseases
            ("acute" / "chronic", "left" / "right", "viral" / "bacterial"): then no side may
            swap one for another, and one entry holding two of them never matches.
        implies: Qualifier words that any word of the class states too: a bacterium is
            "bacterial" and "infective", so "pneumococcal meningitis" is a "bacterial
            meningitis".
    """

    name: str = Field(min_length=1)
    words: tuple[str, ...] = Field(min_length=1)
    exclusive: bool = True
    implies: tuple[str, ...] = ()


class SynonymTable(Frozen):
    """Schema of ``evaluators/synonyms/diagnoses.yaml``.

    Attributes:
        spelling: Irregular word variants no rule derives (``calculi: calculus``), and an
            organ's noun mapped to its adjective of another root (``kidney: renal``),
            applied to both sides before the spelling rules. Keys and values are single
            folded words, and no value is itself a key.
        qualifiers: Classes of words a prediction may add to the reference's name and still
            name the same disease ("community-acquired pneumonia" for "pneumonia"); never
            the reverse, unless the word is ``harmless`` too.
        harmless: Qualifier words that may be missing on either side ("acute appendicitis"
            is "appendicitis"; "Graves" is "Graves disease").
        site_sensitive: Head words a site qualifier turns into another disease
            ("pulmonary hypertension" is not "hypertension").
        short_of: Words that make the name they qualify something short of the disease or
            a mimic of it ("latent", "threatened", "non", "pseudo"): a prediction adding
            one is never the reference's more specific form.
        generic: Words that name no disease on their own ("infection", "cancer"): an entry
            made only of them and of qualifiers never matches a more specific reference.
        disease_heads: Words that make a phrase a disease name, so that an entry with two
            such phrases joined by "or", "and", "/" or "," reads as a list.
        disease_suffixes: Word endings that do the same ("-itis", "-osis", ...).
        distinct_words: Groups of look-alike words that name different things
            ("dysphagia" / "dysphasia"); typo tolerance never crosses them.
        kept_after_site: Harmless head words that do not drop after a site word: "polycystic
            ovary syndrome" is a diagnosis, "polycystic ovaries" an appearance on a scan.
        units: Folded unit words ("mg", "mmhg"): a number with one of them is a value, which
            only the same value matches ("2.5 mg" is not "25 mg").
        phrases: Names of several words written another way, replaced on both sides after the
            spelling rules: an organism by the adjective its diseases are named with
            ("Streptococcus pneumoniae: pneumococcal", "Staphylococcus: staphylococcal"), so
            that "Streptococcus pneumoniae meningitis" is "pneumococcal meningitis". The
            longest phrase wins.
        site_parts: A site word that names part of another site's organ ("sigmoid: colonic"):
            a prediction naming the part is more specific than a reference naming the whole
            ("sigmoid polyp" for "colonic polyp"), never the reverse.
        forms: More specific forms that carry a name of their own, by the disease they are a
            form of ("chronic obstructive pulmonary disease: [emphysema]"): a prediction
            naming the form matches a reference naming the disease, never the reverse. A
            variant that is a distinct named syndrome (Miller Fisher syndrome of
            Guillain-Barre syndrome) is not listed.
        not_forms: Names that look like a form of a disease but name another one
            ("cystitis: [interstitial cystitis]"): they never match it.
        organisms: An organism that causes one disease, by name or abbreviation, and that
            disease ("EBV: infectious mononucleosis"): "ORGANISM infection" names it.
        inflammations: An organ, in lay words, and the name of its inflammation ("liver:
            hepatitis"): "inflammation of the liver", "liver inflammation" and "inflamed
            liver" read as that name.
        synonyms: Groups of names for one disease. After normalisation no name may appear
            twice, within a group or across groups: an ambiguous abbreviation belongs
            nowhere.
    """

    spelling: dict[str, str] = Field(default_factory=dict)
    qualifiers: tuple[QualifierClass, ...] = ()
    harmless: tuple[str, ...] = ()
    site_sensitive: tuple[str, ...] = ()
    short_of: tuple[str, ...] = ()
    generic: tuple[str, ...] = ()
    disease_heads: tuple[str, ...] = ()
    disease_suffixes: tuple[str, ...] = ()
    distinct_words: tuple[tuple[str, ...], ...] = ()
    kept_after_site: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    phrases: dict[str, str] = Field(default_factory=dict)
    site_parts: dict[str, str] = Field(default_factory=dict)
    forms: dict[str, tuple[Annotated[str, Field(min_length=1)], ...]] = Field(default_factory=dict)
    not_forms: dict[str, tuple[Annotated[str, Field(min_length=1)], ...]] = Field(
        default_factory=dict
    )
    organisms: dict[str, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)
    inflammations: dict[str, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)
    synonyms: tuple[SynonymGroup, ...]

    @field_validator("spelling")
    @classmethod
    def _check_spelling(cls, spelling: dict[str, str]) -> dict[str, str]:
        for variant, preferred in spelling.items():
            for word in (variant, preferred):
                _check_word(word, "spelling")
            if variant == preferred:
                raise ValueError(f"{variant!r} is mapped to itself")
            if preferred in spelling:
                raise ValueError(
                    f"{variant!r} maps to {preferred!r}, which is itself mapped; "
                    f"map {variant!r} to the final form"
                )
        return spelling

    @field_validator("qualifiers")
    @classmethod
    def _check_qualifiers(
        cls, qualifiers: tuple[QualifierClass, ...]
    ) -> tuple[QualifierClass, ...]:
        seen: dict[str, str] = {}
        for qualifier in qualifiers:
            for word in qualifier.words:
                _check_word(word, f"class {qualifier.name}")
                if word in seen:
                    raise ValueError(
                        f"class {qualifier.name}: {word!r} is listed twice (also in {seen[word]})"
                    )
                seen[word] = qualifier.name
        for qualifier in qualifiers:
            for word in qualifier.implies:
                if word not in seen:
                    raise ValueError(f"class {qualifier.name}: implied {word!r} is in no class")
        return qualifiers

    @field_validator("harmless")
    @classmethod
    def _check_harmless(cls, harmless: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        known = {w for q in info.data.get("qualifiers", ()) for w in q.words}
        for word in harmless:
            if word not in known:
                raise ValueError(f"harmless word {word!r} is in no qualifier class")
        return harmless

    @field_validator("synonyms")
    @classmethod
    def _check_synonyms(
        cls, groups: tuple[tuple[str, ...], ...], info: ValidationInfo
    ) -> tuple[tuple[str, ...], ...]:
        spelling: Mapping[str, str] = info.data.get("spelling", {})
        harmless = set(info.data.get("harmless", ()))
        owner: dict[str, tuple[int, str]] = {}
        for index, names in enumerate(groups):
            for name in names:
                words = normal_words(name, dict(spelling))
                text = " ".join(words)
                if not words or all(word in harmless for word in words):
                    raise ValueError(
                        f"group {index} {list(names)}: {name!r} has no words besides "
                        "hedges and qualifiers"
                    )
                if is_negated(words):
                    raise ValueError(f"group {index} {list(names)}: {name!r} reads as negated")
                if text in owner:
                    other, first = owner[text]
                    where = (
                        "this group" if other == index else f"group {other} {list(groups[other])}"
                    )
                    raise ValueError(
                        f"group {index} {list(names)}: {name!r} is the same name as "
                        f"{first!r} in {where} once normalised to {text!r}"
                    )
                owner[text] = (index, name)
        return groups

    @field_validator("phrases")
    @classmethod
    def _check_phrases(cls, phrases: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        spelling = dict(info.data.get("spelling", {}))
        for phrase, replacement in phrases.items():
            if not normal_words(phrase, spelling) or not normal_words(replacement, spelling):
                raise ValueError(
                    f"phrase {phrase!r}: it or its replacement {replacement!r} is empty"
                )
        return phrases

    @field_validator("forms", "not_forms")
    @classmethod
    def _check_forms(
        cls, forms: dict[str, tuple[str, ...]], info: ValidationInfo
    ) -> dict[str, tuple[str, ...]]:
        spelling = dict(info.data.get("spelling", {}))
        for disease, names in forms.items():
            key = " ".join(normal_words(disease, spelling))
            for name in names:
                text = " ".join(normal_words(name, spelling))
                if not text or text == key or is_negated(text.split()):
                    raise ValueError(
                        f"forms of {disease!r}: {name!r} is empty, negated or the disease itself"
                    )
        return forms


def load_synonym_table(path: Path | None = None) -> SynonymTable:
    """Load and validate a synonyms file (the bundled one by default).

    Raises:
        ContentError: The file is missing or invalid; the message names file, line, field.
    """
    return load_yaml_model(path or content_path(*BUNDLED_SYNONYMS), SynonymTable)
