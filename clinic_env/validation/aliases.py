"""Aliases that would let another disease, or a vaguer answer, score as the diagnosis.

The scorer accepts a case's aliases, and the discrete env resolves names through the
knowledge base's aliases, so an alias must name the same disease and nothing wider. Three
checks, each through the diagnosis matcher so that they see what the scorer sees:

* **another disease**: the alias accepts the name or an alias of another knowledge-base
  disease (or, in a case, of a listed differential);
* **category**: the alias accepts a name from ``categories`` in ``rules.yaml`` (a finding or
  a syndrome with several causes) or, in the knowledge base, from ``knowledge_only`` (a
  variant or a complication, which a case presenting with it may accept);
* **broader**: every word of the alias is in another disease's name ("adrenal insufficiency"
  in "Secondary adrenal insufficiency"), unless the disease's own name already accepts it.

``accepted`` in ``rules.yaml`` exempts an alias from the last two checks, with a reason; one
accepted for a single case is exempt from the first too.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable

from clinic_env.language.knowledge import diseases
from clinic_env.language.matcher import DiagnosisMatcher
from clinic_env.schema.case import Case
from clinic_env.schema.knowledge import Disease
from clinic_env.validation.issues import Issue, validation_rules
from clinic_env.validation.knowledge import disease_of

Key = frozenset[str]
KNOWLEDGE = "knowledge"
"""The subject of issues found in the knowledge base rather than in a case."""

_KEPT_WORDS = frozenset({"disease", "syndrome", "disorder", "infection", "infective", "infectious"})
_NEGATIONS = frozenset({"non", "not", "no"})
"""A name with one of these among its extra words is not a kind of the alias ("non-classic")."""


def _matcher() -> DiagnosisMatcher:
    return DiagnosisMatcher.from_content()


@functools.cache
def _droppable() -> frozenset[str]:
    """Words the matcher lets either side drop ("acute", "sided"): they never make a name."""
    return frozenset(_matcher().synonyms.harmless)


def _key(name: str) -> Key:
    """The words of a name that carry meaning, once normalised as the matcher does."""
    return frozenset(_matcher().normalize(name).split()) - _droppable()


def _wide_key(name: str) -> Key:
    """The words of a name, less those of course and form the matcher drops ("acute").

    Nouns the matcher may drop ("disease", "infective") stay: "skin infection" is not
    wider than "Squamous cell carcinoma of the skin", nor "infective arthritis" than
    "Reactive arthritis".
    """
    words = frozenset(_matcher().normalize(name).split())
    return words - (_droppable() - _KEPT_WORDS)


class _NameIndex:
    """Names with their owners, found by meaningful words or by synonym group."""

    def __init__(self, entries: Iterable[tuple[str, str]]) -> None:
        self.by_key: dict[Key, list[tuple[str, str]]] = defaultdict(list)
        self.by_group: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for owner, name in entries:
            self.by_key[_key(name)].append((owner, name))
            if group := _matcher().canonical(name):
                self.by_group[group].append((owner, name))

    def accepted_by(self, alias: str) -> list[tuple[str, str]]:
        """(owner, name) pairs the matcher would accept when ``alias`` is the answer."""
        group = _matcher().canonical(alias)
        candidates = {*self.by_key.get(_key(alias), ()), *self.by_group.get(group or "", ())}
        return sorted(pair for pair in candidates if _matcher().matches(pair[1], alias))


@functools.cache
def _disease_names() -> _NameIndex:
    return _NameIndex((d.name, n) for d in diseases() for n in (d.name, *d.aliases))


@functools.cache
def _categories() -> _NameIndex:
    return _NameIndex(("category", n) for n in validation_rules().categories)


@functools.cache
def _knowledge_categories() -> _NameIndex:
    rules = validation_rules()
    return _NameIndex(("category", n) for n in (*rules.categories, *rules.knowledge_only))


@functools.cache
def _names_by_word() -> dict[str, set[tuple[str, Key]]]:
    """Each word of a disease name, with the (disease, words) of every name holding it."""
    index: dict[str, set[tuple[str, Key]]] = defaultdict(set)
    for disease in diseases():
        key = _wide_key(disease.name)
        for word in key:
            index[word].add((disease.name, key))
    return index


def _accepted(subject: str, own: str, alias: str) -> bool:
    """Whether ``rules.yaml`` accepts the alias (up to side and course) for this disease or case."""
    normalize = _matcher().normalize
    return any(
        (entry.case == subject or normalize(entry.disease or "") == normalize(own))
        and _wide_key(alias) in {_wide_key(a) for a in entry.aliases}
        for entry in validation_rules().accepted
    )


def _wider_than(alias: str, own: str, others: Iterable[tuple[str, Key]]) -> list[str]:
    """Names holding every word of the alias (or of its synonym group) and more."""
    found: set[str] = set()
    group = _matcher().canonical(alias)
    for key in {_wide_key(alias), _wide_key(group) if group else frozenset()}:
        if not key:
            continue
        postings = [_names_by_word().get(word, set()) for word in key]
        candidates = [*set.intersection(*postings), *others]
        found |= {name for name, words in candidates if key < words and not words & _NEGATIONS}
    return sorted(found - {own})


def _same(a: str, b: str) -> bool:
    """Whether the matcher takes each name for the other: the same disease, not a narrower one."""
    return _matcher().matches(a, b) and _matcher().matches(b, a)


def alias_issues(
    subject: str,
    own: tuple[str, ...],
    aliases: Iterable[tuple[str, str]],
    differentials: tuple[str, ...] = (),
) -> list[Issue]:
    """The checks of the module doc on ``aliases`` ((field, alias) pairs).

    Args:
        subject: Who the issues are about: a case id, or ``knowledge`` for the disease files,
            whose aliases may not name a complication or a variant either.
        own: The knowledge-base name of the disease the aliases stand for (first), and in a
            case its diagnosis as written.
        aliases: Each alias with the field it is in.
        differentials: In a case, its differentials: an alias may not accept them either.
    """
    matcher = _matcher()
    issues: list[Issue] = []
    others = [(name, _wide_key(name)) for name in differentials]
    categories = _categories() if subject != KNOWLEDGE else _knowledge_categories()

    def add(where: str, message: str) -> None:
        issues.append(Issue(subject, "alias", where, message))

    for where, alias in aliases:
        accepted = _accepted(subject, own[0], alias)
        for disease, name in _disease_names().accepted_by(alias):
            if disease != own[0] and not (accepted and subject != KNOWLEDGE):
                add(where, f"{alias!r} accepts {name!r}, a name of {disease}")
        for name in differentials:
            # Scoring reads an answer naming a differential as that differential, unless the
            # truth passes for it (a wider name): only then would the alias credit it.
            if matcher.matches(name, alias) and matcher.matches(own[-1], name):
                add(where, f"{alias!r} accepts the differential {name!r}")
        if accepted:
            continue
        for _, term in categories.accepted_by(alias):
            if not any(_same(term, name) for name in own):
                add(where, f"{alias!r} accepts {term!r}, not the name of one disease")
        if not any(matcher.matches(alias, name) for name in own):
            for wider in _wider_than(alias, own[0], others):
                add(where, f"{alias!r} is broader than {own[0]}: {wider} is also {alias!r}")
    return issues


def knowledge_alias_issues() -> list[Issue]:
    """Every knowledge-base alias that names another disease or a wider category."""
    issues: list[Issue] = []
    for disease in diseases():
        where = [(f"{disease.name} aliases", alias) for alias in disease.aliases]
        issues.extend(alias_issues(KNOWLEDGE, (disease.name,), where))
    return issues


def case_alias_issues(case: Case) -> list[Issue]:
    """A case's aliases checked as above, against the knowledge base and its differentials."""
    truth = case.ground_truth
    disease: Disease | None = disease_of(case)
    own = (disease.name, truth.diagnosis) if disease else (truth.diagnosis,)
    differentials = tuple(d.diagnosis for d in truth.differentials)
    where = [(f"ground_truth.aliases[{i}]", alias) for i, alias in enumerate(truth.aliases)]
    issues = alias_issues(case.id, own, where, differentials)
    for i, name in enumerate(differentials):
        matcher = _matcher()
        if matcher.matches(name, truth.diagnosis) and matcher.matches(truth.diagnosis, name):
            message = f"the differential {name!r} is the diagnosis itself"
            issues.append(Issue(case.id, "alias", f"ground_truth.differentials[{i}]", message))
    return issues
