"""A last line of defence: withhold any mention of the ground truth on its way to the doctor.

Case data is audited so that it does not name the diagnosis, and offline agents only speak
case data; but imported datasets sometimes name it in a test result, and model-backed agents
can say anything. Every text bound for the doctor passes through :class:`LeakGuard`, which
replaces mentions of the diagnosis and reports that it did.

A mention is (word lists in ``evaluators/rules/leak_guard.yaml``, no list per case):

- any name whole: the diagnosis (the first name), its aliases, what the synonym table
  calls the same disease and every other name the diagnosis matcher scores as the answer
  (:func:`answer_names`: "NSTEMI" for myocardial infarction), in any case, with or without
  accents, possessives, hyphens, British or American spelling, a plural or another form of
  its last word;
- the diagnosis's distinctive variants: each tail of its head phrase that holds a word not
  on the ``generic`` list ("spontaneous pneumothorax", "pneumothorax"; "Guillain-Barré";
  "ectopic", never "pregnancy"), the noun before a Latin adjective ("myasthenia"), other
  forms of the head ("infarct", "emboli", "myasthenic") and eponyms ("Hashimoto",
  "Graves", "Addisonian"). Aliases are matched whole only: their own heads name causes and
  findings ("saccular aneurysm") that the record must keep. A different disease sharing the
  head ("tension pneumothorax" when the answer is primary spontaneous pneumothorax) names
  the answer's word and is withheld too;
- short forms: all-capital aliases of 2-5 letters and initialisms of 3-5 letters derived
  from the names, case-sensitive, also dotted ("G.B.S.") or, from three letters, spaced.

It is not a mention where the words mean something else: a unit or dose ("60 MG"), a listed
other sense ("PE teacher"), a test or vaccine named after the disease ("Rubella IgM"), a
person or place ("Dr Wilson", "Stevens Road"), an ordinary word in capitals ("NOT AT ALL"),
or an everyday word that is also an eponym when not capitalised ("still").

The guard works on text the simulator made from case data, never on words the doctor wrote.
A reply that echoes the doctor's request ("REQUEST TEST: <name>") or a model that repeats the
doctor's question must treat the true name exactly like any other, or the guard becomes an
answer oracle: a policy names every candidate and picks the one that comes back withheld. So
:meth:`LeakGuard.scrub` leaves alone the regions a caller marks as not case data (``spare``)
and the names and variants the doctor itself used (``spare_names``, from
:meth:`LeakGuard.names_in`, which finds every variant ``scrub`` would withhold, in any
case and context, so that no echo is withheld for the truth alone).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

from clinic_env.language.leak_variants import Variant, guard_rules, prepared_text, variants_of
from clinic_env.language.matcher import DiagnosisMatcher
from clinic_env.schema.case import Case

_SENTENCE_START = re.compile(r"(?:^|[.!?:;]|\n)[\s\"'(\[]*$")
_CAPITALS_BEFORE = re.compile(r"[A-Z]{2,}[^A-Za-z]*$")
_CAPITALS_AFTER = re.compile(r"[^A-Za-z]*[A-Z]{2,}(?![a-z])")
_BOUNDED = r"(?<![A-Za-z0-9])(?:{})(?![A-Za-z0-9])"


_NAMED_CACHE_SIZE = 4096


class LeakGuard:
    """Finds and withholds the names of one case's diagnosis in outgoing text.

    Args:
        names: the diagnosis first, then its aliases.
        replacement: what a mention is replaced with.
    """

    def __init__(self, names: Iterable[str], replacement: str) -> None:
        names = tuple(name for name in names if name.strip())
        self.replacement = replacement
        self._variants = variants_of(names) if names else []
        self._groups = {f"v{i}": variant for i, variant in enumerate(self._variants)}
        self._compiled: dict[int, re.Pattern[str]] = {}
        # Names are matched in lower-case text, short forms as written: two patterns, each
        # one alternation (longest first), compiled once per case.
        self._patterns: list[tuple[re.Pattern[str], bool]] = []
        for short in (False, True):
            alternatives = [
                f"(?P<{group}>{v.pattern})"
                for group, v in self._groups.items()
                if (v.kind == "short") == short
            ]
            if alternatives:
                self._patterns.append((re.compile(_BOUNDED.format("|".join(alternatives))), short))
        # Any mention holds one of a few short strings: a cheap test that lets almost every
        # clean text through without a regular expression.
        self._prefixes = tuple({p for v in self._variants if v.kind != "short" for p in v.prefixes})
        self._short_prefixes = tuple(
            {p for v in self._variants if v.kind == "short" for p in v.prefixes}
        )
        self._lowered_prefixes = tuple(
            tuple({p.lower() for p in variant.prefixes}) for variant in self._variants
        )
        self._any_prefix_found = _substring_finder(
            p for prefixes in self._lowered_prefixes for p in prefixes
        )
        self._short_prefix_found = _substring_finder(self._short_prefixes)
        self._prefix_found = _substring_finder(self._prefixes)
        self._named: dict[str, frozenset[str]] = {}
        """names_in's answers per text: doctors (and policies) repeat their messages."""
        self._results: dict[tuple[str, tuple[str, ...]], tuple[str, bool]] = {}
        """scrub_result's answers: the room gives the same results every episode of a case."""

    def _alone(self, index: int) -> re.Pattern[str]:
        """One variant alone, in any case (compiled when first needed): for what the doctor
        wrote and the mentions it spares."""
        if index not in self._compiled:
            pattern = _BOUNDED.format(self._variants[index].pattern)
            self._compiled[index] = re.compile(pattern, re.IGNORECASE)
        return self._compiled[index]

    def names_in(self, text: str) -> frozenset[str]:
        """The keys of every name and variant ``text`` holds, in any case and context, a
        variant inside a longer mention too ("infarction" in "myocardial infarction"): what
        the doctor said itself, and may therefore hear back unwithheld. Finding more than
        :meth:`scrub` withholds is safe; finding less would withhold an echo for the truth
        alone."""
        if not self._variants or not text:
            return frozenset()
        found = self._named.get(text)
        if found is not None:
            return found
        lowered = prepared_text(text).lower()
        if not self._any_prefix_found(lowered):
            found = frozenset()
        else:
            found = frozenset(
                variant.key
                for i, (variant, prefixes) in enumerate(
                    zip(self._variants, self._lowered_prefixes, strict=True)
                )
                if any(p in lowered for p in prefixes) and self._alone(i).search(lowered)
            )
        if len(self._named) >= _NAMED_CACHE_SIZE:
            self._named.clear()
        self._named[text] = found
        return found

    def _is_spared_name(self, mention: str, spare_names: frozenset[str]) -> bool:
        """Whether the whole mention is one of the names or variants the doctor used."""
        return any(
            variant.key in spare_names and self._alone(i).fullmatch(mention)
            for i, variant in enumerate(self._variants)
        )

    def _mentions(self, prepared: str, lowered: str) -> list[tuple[int, int, str]]:
        """(start, end, key) of every mention, in order, none inside another."""
        found = []
        for pattern, short in self._patterns:
            for match in pattern.finditer(prepared if short else lowered):
                variant = self._groups[match.lastgroup or ""]
                if not self._innocent(prepared, match, variant):
                    found.append((match.start(), match.end(), variant.key))
        found.sort(key=lambda span: (span[0], -span[1]))
        mentions: list[tuple[int, int, str]] = []
        for span in found:
            if not mentions or span[0] >= mentions[-1][1]:
                mentions.append(span)
        return mentions

    def _innocent(self, prepared: str, match: re.Match[str], variant: Variant) -> bool:
        """Whether a match means something else: a unit or dose, an ordinary word in
        capitals, a person or place, an everyday word, a test's name, another sense."""
        rules = guard_rules()
        start, end = match.span()
        before, after = prepared[max(0, start - 40) : start], prepared[end : end + 40]
        if variant.kind == "short":
            key = variant.key
            unit = key in rules.unit_symbols or key.removesuffix("s") in rules.unit_symbols
            slash = before.endswith("/") or after.lstrip().startswith("/")
            if unit and (slash or rules.number.search(before)):
                return True
            if rules.dose_unit.search(before):
                return True
            if key in rules.ordinary and (
                _CAPITALS_BEFORE.search(before) or _CAPITALS_AFTER.match(after)
            ):
                return True
        elif variant.kind != "name" and (
            rules.title_before.search(before) or rules.place_after.match(after)
        ):
            return True
        if variant.kind == "capitalised":
            possessive = match.group().endswith(("'", "'s", " s"))
            if not prepared[start].isupper():
                return True
            if not possessive and _SENTENCE_START.search(prepared[:start]):
                return True
        if rules.test_after.match(after):
            return True
        return any(low <= start and end <= high for low, high in _spans(rules.senses, prepared))

    def scrub(
        self, text: str, spare: Iterable[str] = (), spare_names: frozenset[str] = frozenset()
    ) -> tuple[str, bool]:
        """The text with every mention withheld, and whether there was any.

        Args:
            text: the outgoing text.
            spare: phrases of ``text`` that are not case data (the doctor's request echoed, a
                catalogue name); a mention inside one of them is left as it is.
            spare_names: names and variants (from :meth:`names_in`) the doctor used itself;
                a mention that is wholly one of them is left as it is.
        """
        if not self._patterns or not text:
            return text, False
        prepared = prepared_text(text)
        lowered = prepared.lower()
        # Every mention holds one of the prefixes: a cheap test that lets almost every clean
        # text through without the patterns.
        if not (self._short_prefix_found(prepared) or self._prefix_found(lowered)):
            return text, False
        spans = self._mentions(prepared, lowered)
        if spans and spare:
            regions = _regions(prepared, spare)
            spans = [s for s in spans if not any(a <= s[0] and s[1] <= b for a, b in regions)]
        if spans and spare_names:
            spans = [
                (start, end, key)
                for start, end, key in spans
                if key not in spare_names
                and not self._is_spared_name(prepared[start:end], spare_names)
            ]
        if not spans:
            return text, False
        pieces, last = [], 0
        for start, end, _ in spans:
            pieces += [text[last:start], self.replacement]
            last = end
        pieces.append(text[last:])
        return "".join(pieces), True

    def scrub_result(self, text: str, spare: tuple[str, ...]) -> tuple[str, bool]:
        """:meth:`scrub` for a measurement result, each (text, spared phrases) worked out once:
        the room answers from the case's views, so an episode's results come back in every
        episode of its case."""
        key = (text, spare)
        found = self._results.get(key)
        if found is None:
            found = self.scrub(text, spare=spare)
            if len(self._results) >= _NAMED_CACHE_SIZE:
                self._results.clear()
            self._results[key] = found
        return found


_FEW_PARTS = 8
"""Up to this many parts, testing each with ``in`` (a fast search in C) beats a regular
expression, which starts a match attempt at every character that may begin a part."""


def _substring_finder(parts: Iterable[str]) -> Callable[[str], bool]:
    """Whether a text holds any of ``parts``, a part holding another left out: few are
    tested one by one, many with one compiled trie (a test per character, not per part)."""
    unique = sorted(set(parts), key=len)
    kept = tuple(part for i, part in enumerate(unique) if not any(p in part for p in unique[:i]))
    if len(kept) <= _FEW_PARTS:
        return lambda text: any(map(text.__contains__, kept))
    pattern = re.compile(_trie_pattern(kept))
    return lambda text: pattern.search(text) is not None


_Trie = dict[str, "_Trie"]


def _trie_pattern(parts: Iterable[str]) -> str:
    """A pattern matching where any of ``parts`` starts, as a trie: parts sharing a start
    share its test, and characters leading to the same rest are one character class."""
    root: _Trie = {}
    for part in parts:
        node = root
        for char in part:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: _Trie) -> str:
        if "" in node:  # a part ends here: what follows does not matter
            return ""
        by_rest: dict[str, list[str]] = {}
        for char, child in sorted(node.items()):
            by_rest.setdefault(pattern(child), []).append(char)
        branches = [
            (re.escape(chars[0]) if len(chars) == 1 else f"[{''.join(map(re.escape, chars))}]")
            + rest
            for rest, chars in by_rest.items()
        ]
        return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"

    return pattern(root)


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [match.span() for match in pattern.finditer(text)]


def _regions(prepared: str, phrases: Iterable[str]) -> list[tuple[int, int]]:
    """Where each phrase occurs in ``prepared`` text (any case, spacing and punctuation)."""
    regions = []
    for phrase in phrases:
        words = re.findall(r"[A-Za-z0-9]+", prepared_text(phrase))
        if words:
            pattern = r"[^A-Za-z0-9]+".join(map(re.escape, words))
            regions += _spans(re.compile(pattern, re.IGNORECASE), prepared)
    return regions


@functools.lru_cache(maxsize=4096)
def leak_guard(names: tuple[str, ...], replacement: str) -> LeakGuard:
    """The guard for one set of names, built once (cases are replayed many times)."""
    return LeakGuard(names, replacement)


_WITHHELD_CACHE_SIZE = 4096
_WITHHELD: dict[int, tuple[Case, Case]] = {}


def withheld_case(case: Case, guard: LeakGuard) -> Case:
    """The case as the roles receive it: every mention of the answer withheld from the brief,
    the opening, the facts, the exam and the test results before any agent sees them.

    Test names and aliases stay as they are, so a test is still found by the name the doctor
    orders it by; the measurement agent shows catalogue names and the session's guard still
    runs on its replies. Scrubbing here, not only on the way out, keeps the answer out of
    model prompts and means nothing the doctor says can make case data come back unwithheld.
    """
    cached = _WITHHELD.get(id(case))
    if cached is not None and cached[0] is case:
        return cached[1]

    def scrub(text: str) -> str:
        return guard.scrub(text)[0]

    withheld = case.model_copy(
        update={
            "doctor_brief": scrub(case.doctor_brief),
            "opening_statement": scrub(case.opening_statement),
            "facts": tuple(
                fact.model_copy(
                    update={
                        "text": scrub(fact.text),
                        "says": scrub(fact.says) if fact.says is not None else None,
                    }
                )
                for fact in case.facts
            ),
            "exam": tuple(
                finding.model_copy(
                    update={"name": scrub(finding.name), "finding": scrub(finding.finding)}
                )
                for finding in case.exam
            ),
            "tests": tuple(
                test.model_copy(update={"result": scrub(test.result)}) for test in case.tests
            ),
            "images": tuple(
                image.model_copy(update={"kind": scrub(image.kind)}) for image in case.images
            ),
        }
    )
    if len(_WITHHELD) >= _WITHHELD_CACHE_SIZE:
        _WITHHELD.clear()
    _WITHHELD[id(case)] = (case, withheld)
    return withheld


def answer_names(case: Case) -> tuple[str, ...]:
    """The names the guard withholds for one case: its diagnosis, its aliases, and every name
    the diagnosis matcher would score as the answer (:meth:`DiagnosisMatcher.named_forms`):
    a record saying "NSTEMI" when the answer is myocardial infarction gives it away as surely
    as the name itself. None for an answer that is not a diagnosis (a drug, a mechanism, a
    number: MediQ asks for those), since the patient's own medication list or results would
    otherwise be cut to pieces."""
    truth = case.ground_truth
    if truth.answer_kind != "diagnosis":
        return ()
    return guarded_names(truth.diagnosis, tuple(truth.aliases))


@functools.lru_cache(maxsize=4096)
def guarded_names(diagnosis: str, aliases: tuple[str, ...] = ()) -> tuple[str, ...]:
    """A diagnosis, its aliases and the other names the matcher scores as it (once each)."""
    forms = DiagnosisMatcher.from_content().named_forms(diagnosis, aliases)
    own = (diagnosis, *aliases)
    return (*own, *(form for form in forms if form not in own))


def case_guard(case: Case, replacement: str) -> LeakGuard:
    """The guard for one case's answer (see :func:`answer_names`)."""
    return leak_guard(answer_names(case), replacement)
