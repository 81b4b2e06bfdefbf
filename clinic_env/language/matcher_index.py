"""The identities a diagnosis matcher knows names by: hand-table groups, terminology
concepts and curated forms, indexed for lookup exactly, up to harmless qualifiers, spacing
or word order, with their is-a, "within" and "apart" links.

:class:`clinic_env.language.matcher.DiagnosisMatcher` fills the tables when it is built and
reads entries against them; the decision rules are in
:mod:`clinic_env.language.matcher_compare`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from clinic_env.language.matcher_compare import filler
from clinic_env.language.matcher_rules import ORDER_WORDS, stem
from clinic_env.language.matcher_table import SynonymTable
from clinic_env.language.terminology import Terminology

__all__ = ["NameIndex"]


class NameIndex:
    """Identity tables and lookups, shared by the matcher (a mixin: the matcher fills the
    attributes below in its constructor)."""

    _names: list[str]
    _hand: int
    _ids: dict[str, int]
    _parents: dict[int, set[int]]
    _within: dict[int, set[int]]
    _apart: dict[int, set[int]]
    _curated_forms: set[int]
    _form_of: dict[int, set[int]]
    """The diseases a name is a named form of in the hand table (transitively)."""
    _organisms: dict[str, int]
    _harmless: frozenset[str]
    _kept_after_site: frozenset[str]
    _site_stems: frozenset[str]
    _by_core: dict[tuple[str, ...], set[tuple[int, tuple[str, ...], tuple[str, ...]]]]
    """Core words -> (identity, its harmless words, those of them that tell it apart from a
    known name with an opposite word: "acute" in "acute myeloid leukaemia")."""
    _by_shape: dict[str, set[int]]
    _words: Callable[[str], tuple[str, ...]]
    _conflict: Callable[[Iterable[str], Iterable[str]], bool]
    _has_opposite: Callable[[Sequence[str], str], bool]
    """Whether two word sets clash in an exclusive class (``ComparisonRules``)."""

    def _index(self) -> None:
        """Index every known name by its core and its shapes, for :meth:`_ident_of`."""
        self._by_core.clear()
        self._by_shape.clear()
        for text, ident in self._ids.items():
            words = text.split()
            harmless = tuple(w for w in words if w in self._harmless)
            telling = tuple(w for w in harmless if self._has_opposite(words, w))
            entry = (ident, harmless, telling)
            self._by_core.setdefault(self._harmless_core(words), set()).add(entry)
            for shape in self._shapes(words):
                self._by_shape.setdefault(shape, set()).add(ident)

    def _add_terminology(self, terminology: Terminology) -> None:
        """Give each concept an identity: its hand-table group when all its known names
        agree on one, else its own; the hand table stays authoritative for its names."""
        hand = len(self._names)
        idents: list[int] = []
        for index, concept in enumerate(terminology.concepts):
            texts = [" ".join(self._words(name)) for name in concept.names]
            groups = {g for t in texts for g in self._hand_groups(t)}
            ident = groups.pop() if len(groups) == 1 else hand + index
            idents.append(ident)
            for text in texts:
                if text:
                    self._ids.setdefault(text, ident)
        self._names.extend(concept.names[0] for concept in terminology.concepts)
        for index, concept in enumerate(terminology.concepts):
            parents = {idents[p] for p in concept.parents} - {idents[index]}
            self._parents.setdefault(idents[index], set()).update(parents)
            within = {idents[w] for w in concept.within} - {idents[index]}
            if within:
                self._within.setdefault(idents[index], set()).update(within)
        for organism, index in terminology.organisms.items():
            self._organisms[organism] = idents[index]

    def _add_curated(self, table: SynonymTable) -> None:
        """Link each named form to the disease it is a form of (one way), giving a name no
        group or concept knows an identity of its own; then close the links, so that a form
        of a form is a form ("anterior STEMI" of STEMI of myocardial infarction). Names
        listed as not forms are kept apart from the disease whatever else says so; an
        organism names the disease it causes."""
        links: dict[int, set[int]] = {}
        for disease, names in table.forms.items():
            parent = self._identity(disease)
            for name in names:
                child = self._identity(name)
                if child != parent:
                    links.setdefault(child, set()).add(parent)
        for child, parents in links.items():
            found, frontier = set(), set(parents)
            while frontier:
                found |= frontier
                frontier = {p for c in frontier for p in links.get(c, ())} - found - {child}
            self._within.setdefault(child, set()).update(found)
            self._form_of.setdefault(child, set()).update(found)
        for disease, names in table.not_forms.items():
            parent = self._identity(disease)
            for name in names:
                child = self._identity(name)
                if child != parent:
                    self._apart.setdefault(child, set()).add(parent)
        for organism, disease in table.organisms.items():
            self._organisms[" ".join(self._words(organism))] = self._identity(disease)
        self._index()

    def _curated(self, ident: int | None) -> bool:
        """Whether an identity is a group or a form of the hand table."""
        return ident is not None and (ident < self._hand or ident in self._curated_forms)

    def _identity(self, name: str) -> int:
        """The identity a curated name has: its own text's, else the one identity it has in
        another word order or spacing ("squamous cell carcinoma of the lung" is the
        terminology's "lung squamous cell carcinoma"), else a new one."""
        words = self._words(name)
        known = self._ids.get(" ".join(words))
        if known is None and not any(w in ORDER_WORDS for w in words):
            for shape in self._shapes(words):
                found = self._by_shape.get(shape, set())
                if len(found) == 1:
                    known = next(iter(found))
                    self._ids[" ".join(words)] = known
                    break
        if known is None:
            known = len(self._names)
            self._names.append(name)
            self._ids[" ".join(words)] = known
        if known >= self._hand:
            self._curated_forms.add(known)
        return known

    def _hand_groups(self, text: str) -> set[int]:
        """The hand-table groups a terminology name is: exactly, in another word order, or
        with harmless words added ("gestational diabetes mellitus"); never with one of the
        group's harmless words missing, since "myeloid leukaemia" may be the general
        disease of "acute myeloid leukaemia" and would carry its synonyms along."""
        exact = self._ids.get(text)
        if exact is not None:
            return {exact} if exact < self._hand else set()
        words = text.split()
        if not any(w in ORDER_WORDS for w in words):
            for shape in self._shapes(words):
                found = self._by_shape.get(shape, set())
                if len(found) == 1 and next(iter(found)) < self._hand:
                    return set(found)
        ours = {w for w in words if w in self._harmless}
        found = {
            ident
            for ident, theirs, _ in self._by_core.get(self._harmless_core(words), ())
            if set(theirs) <= ours and not self._conflict(list(ours), theirs)
        }
        return found if len(found) == 1 and next(iter(found)) < self._hand else set()

    def _harmless_core(self, words: Sequence[str]) -> tuple[str, ...]:
        """The words that must agree: not harmless qualifiers, not fillers (a final "a" is
        a name: "hepatitis A" is not "hepatitis")."""
        fixed = self._fixed(words)
        return tuple(
            sorted(
                w
                for i, w in enumerate(words)
                if (w not in self._harmless or w in fixed) and not filler(words, i)
            )
        )

    def _fixed(self, words: Sequence[str]) -> frozenset[str]:
        """Harmless words that do not drop here: a ``kept_after_site`` head right after a
        site word ("polycystic ovary syndrome")."""
        if not self._kept_after_site.intersection(words):
            return frozenset()
        return frozenset(
            w
            for i, w in enumerate(words)
            if w in self._kept_after_site and i and stem(words[i - 1]) in self._site_stems
        )

    @staticmethod
    def _shapes(words: Sequence[str]) -> tuple[str, str]:
        """Keys that ignore spaces and hyphens ("non ketotic" / "nonketotic") and word order
        with noun/adjective forms ("leiomyoma of the uterus" / "uterine leiomyoma")."""
        content = [w for i, w in enumerate(words) if not filler(words, i)]
        return "".join(words), " ".join(sorted(map(stem, content)))

    def _ident_of(self, words: Sequence[str]) -> int | None:
        """The identity a name has exactly, or up to harmless qualifiers, spacing or word
        order, if only one fits."""
        if not words:
            return None
        exact = self._ids.get(" ".join(words))
        if exact is not None:
            return exact
        if not any(w in ORDER_WORDS for w in words):
            for shape in self._shapes(words):
                found = self._by_shape.get(shape, set())
                if len(found) == 1:
                    return next(iter(found))
        found = self._core_matches(words)
        return next(iter(found)) if len(found) == 1 else None

    def _core_matches(self, words: Sequence[str]) -> set[int]:
        """Identities whose names equal ``words`` up to compatible harmless qualifiers."""
        core = self._harmless_core(words)
        if not core:
            return set()
        harmless = [w for w in words if w in self._harmless]
        return {
            ident
            for ident, theirs, telling in self._by_core.get(core, ())
            if not self._conflict(harmless, theirs) and set(telling) <= set(harmless)
        }

    def _find_ancestors(self, ident: int) -> frozenset[int]:
        """Every identity above one: its is-a parents and the diseases it is listed as a form
        of (a named form or an inclusion term), transitively."""
        found: set[int] = set()
        frontier = self._above(ident)
        for _ in range(8):
            frontier -= found
            if not frontier:
                break
            found |= frontier
            frontier = {p for c in frontier for p in self._above(c)}
        return frozenset(found)

    def _above(self, ident: int) -> set[int]:
        return self._parents.get(ident, set()) | self._within.get(ident, set())

    def _find_kinds(self, ident: int) -> frozenset[int]:
        """Every identity above one in the is-a tree alone."""
        found: set[int] = set()
        frontier = set(self._parents.get(ident, ()))
        for _ in range(8):
            frontier -= found
            if not frontier:
                break
            found |= frontier
            frontier = {p for c in frontier for p in self._parents.get(c, ())}
        return frozenset(found)
