"""The leak guard's vocabulary: which words and variants name a diagnosis, and which do not.

From a diagnosis and its aliases this module derives every mention the guard
(:mod:`clinic_env.language.leak`) withholds: whole names and their synonyms, the diagnosis's
distinctive variants, eponyms and short forms, each as a pattern with the rules that keep a
unit, a dose, a test name or another sense of the word from being taken for it. The word
lists are content (``evaluators/rules/leak_guard.yaml``); nothing here is per case.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from clinic_env.content import content_path, load_yaml_model
from clinic_env.language.matcher import load_synonym_table
from clinic_env.language.text import STOP_WORDS, fold
from clinic_env.schema.base import Frozen

GUARD_WORDS: tuple[str, ...] = ("evaluators", "rules", "leak_guard.yaml")
"""Parts of the word lists' path, for :func:`clinic_env.content.content_path`."""


def _one_word_each(words: tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    for word in words:
        if fold(word) != word or " " in word:
            raise ValueError(f"{word!r} is not one lower-case word without accents")
        if word in seen:
            raise ValueError(f"{word!r} is listed twice")
        seen.add(word)
    return words


def _one_word_in_all(groups: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    _one_word_each(tuple(word for words in groups.values() for word in words))
    return groups


Words = Annotated[tuple[str, ...], AfterValidator(_one_word_each)]


class WordForms(Frozen):
    """Other endings of words with one ending (see the file's ``forms``)."""

    ending: str = Field(min_length=1)
    others: tuple[str, ...] = Field(min_length=1)


class GuardWords(Frozen):
    """Schema of ``evaluators/rules/leak_guard.yaml``; each list is explained in the file."""

    generic: Annotated[dict[str, tuple[str, ...]], AfterValidator(_one_word_in_all)]
    connectors: Words
    cause_markers: Words
    agent_words: Words
    eponyms: Words
    places: Words
    word_eponyms: Words
    eponym_endings: Words
    postpositive: Words
    forms: tuple[WordForms, ...]
    common_abbreviations: Words
    ordinary_words: Words
    units: Words
    dose_units: Words
    number_words: Words
    labels: Words
    test_words: Words
    titles: Words
    other_senses: tuple[str, ...]


@functools.cache
def guard_words() -> GuardWords:
    """The bundled word lists, validated once."""
    return load_yaml_model(content_path(*GUARD_WORDS), GuardWords)


_TO_AMERICAN = (
    (re.compile(r"(?<=[a-z])ae"), "e"),
    (re.compile(r"(?<![a-z])oe|(?<=[a-z])oe(?=dem|soph)|(?<=rrh)oe|(?<=^c)oe|(?<=^f)oe"), "e"),
    (re.compile(r"(?<=[a-z]{2}[bt])re(?=s?$)"), "er"),
    (re.compile(r"(?<=[a-z]{3})our(?=s?$)"), "or"),
    (re.compile(r"(?<=[a-z]{3})is(e|ed|es|ing|ation)$"), r"iz\1"),
)
_TO_BRITISH = (
    (re.compile(r"(?<=[a-z])(?=emi[ac])|(?<=h)(?=e[mo])|(?<=^p)(?=edi)|(?<=gyn)(?=ec)"), "a"),
    (re.compile(r"(?<![a-z])(?=e(?:soph|dem))|(?<=[a-z])(?=edem)|(?<=rrh)(?=ea)"), "o"),
    (re.compile(r"(?<=^c)(?=eliac)|(?<=^f)(?=et[au])"), "o"),
    (re.compile(r"(?<=[a-z]{3}o)(?=rs?$)"), "u"),
    (re.compile(r"(?<=[a-z]{3})iz(?=(?:e|ed|es|ing|ation)$)"), "is"),
    (re.compile(r"(?<=^n)(?=ev[iu])"), "a"),
    (re.compile(r"(?<=[a-z]{2}[bt])er(?=s?$)"), "re"),
)
_ROMAN = {"1": "i", "2": "ii", "3": "iii", "4": "iv"}


def _american(word: str) -> str:
    """One spelling for British and American forms of a folded word (anaemia -> anemia)."""
    for pattern, replacement in _TO_AMERICAN:
        word = pattern.sub(replacement, word)
    return word


def _spellings(key: str) -> set[str]:
    """A word's American and British spellings (and Roman numeral)."""
    british = key
    for pattern, letter in _TO_BRITISH:
        british = pattern.sub(letter, british)
    return {key, british, *([_ROMAN[key]] if key in _ROMAN else [])}


class _CharFolding(dict[int, str]):
    """A ``str.translate`` table folding one character to one ASCII character, case kept (so
    positions match the original): accents dropped, a non-ASCII symbol a space."""

    def __missing__(self, code: int) -> str:
        folded = chr(code)
        if code >= 128:
            decomposed = unicodedata.normalize("NFKD", folded)
            base = "".join(c for c in decomposed if not unicodedata.combining(c))
            folded = base[0] if base[:1].isascii() and base[:1].isalnum() else " "
        self[code] = folded
        return folded


_FOLDING = _CharFolding()
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def prepared_text(text: str) -> str:
    """``text`` with each non-ASCII character folded (see :class:`_CharFolding`): only those
    are looked up, where ``str.translate`` looked up every character (4.3 us for a reply
    holding one)."""
    return text if text.isascii() else _NON_ASCII.sub(_fold_character, text)


def _fold_character(match: re.Match[str]) -> str:
    return _FOLDING[ord(match.group())]


_POSSESSIVE = r"(?:'s|s'|s|'| s(?![A-Za-z0-9]))?"
_ASCII_SPACES = "".join(c for c in map(chr, range(128)) if re.fullmatch(r"\s", c))
"""What ``\\s`` matches in prepared text (always ASCII): the gaps a short form may hold."""
_SEPARATOR = r"[\s\-/]+"
_NAME_SEPARATOR = r"(?:,[\s\-/]*|[\s\-/]+)"
"""Between a name's words a comma may stand too: "Hand, foot and mouth disease", "45,X"."""


def _alternation(words: Iterable[str]) -> str:
    return "|".join(sorted(map(re.escape, words), key=lambda w: (-len(w), w)))


def _capitalised(words: Iterable[str]) -> str:
    return _alternation(word.capitalize() for word in words)


@dataclass(frozen=True, slots=True)
class _Rules:
    """The word lists as the guard uses them: sets spelled as name keys are, and the
    patterns that make a match something else than a mention."""

    generic: frozenset[str]
    connectors: frozenset[str]
    causes: frozenset[str]
    agents: frozenset[str]
    eponyms: frozenset[str]
    word_eponyms: frozenset[str]
    postpositive: frozenset[str]
    forms: tuple[WordForms, ...]
    number: re.Pattern[str]
    dose_unit: re.Pattern[str]
    unit_symbols: frozenset[str]
    ordinary: frozenset[str]
    test_after: re.Pattern[str]
    title_before: re.Pattern[str]
    place_after: re.Pattern[str]
    senses: re.Pattern[str]

    def distinctive(self, word: _Word) -> bool:
        key = word.key
        return len(key) > 1 and key.isalpha() and key not in self.generic and key not in STOP_WORDS


@functools.cache
def guard_rules() -> _Rules:
    words = guard_words()

    def spelled(listed: Iterable[str]) -> frozenset[str]:
        return frozenset(map(_american, listed))

    labels = "".join(rf"(?<!\b(?i:{re.escape(label)}) )" for label in words.labels)
    senses = "|".join(
        sorted(
            (
                _SEPARATOR.join(
                    f"(?:{_alternation(_spellings(w.key) | {w.raw.lower()})})"
                    for w in _words(phrase)
                )
                for phrase in words.other_senses
            ),
            key=len,
            reverse=True,
        )
    )
    numbers = _alternation(words.number_words)
    return _Rules(
        generic=spelled(w for group in words.generic.values() for w in group),
        connectors=spelled(words.connectors),
        causes=spelled(words.cause_markers),
        agents=spelled(words.agent_words),
        eponyms=spelled(words.eponyms),
        word_eponyms=spelled(words.word_eponyms),
        postpositive=spelled(words.postpositive),
        forms=tuple(sorted(words.forms, key=lambda rule: -len(rule.ending))),
        number=re.compile(rf"(?:{labels}\d(?:[.,]\d+)?|(?<![A-Za-z])(?i:{numbers}))[\s\-]*$"),
        dose_unit=re.compile(rf"\d\s*(?i:{_alternation(words.dose_units)})\.?[\s\-]*$"),
        unit_symbols=frozenset(words.units),
        ordinary=frozenset(words.ordinary_words),
        test_after=re.compile(
            rf"(?i:(?:{_SEPARATOR}[a-z0-9]+)?{_SEPARATOR}(?:{_alternation(words.test_words)}))"
            r"(?![A-Za-z0-9])"
        ),
        title_before=re.compile(rf"(?<![A-Za-z])(?:{_capitalised(words.titles)})\.?\s+$"),
        place_after=re.compile(rf"{_POSSESSIVE}\s+(?:{_capitalised(words.places)})\b"),
        senses=re.compile(rf"(?<![A-Za-z0-9])(?i:{senses})(?![A-Za-z0-9])"),
    )


@dataclass(frozen=True, slots=True)
class _Word:
    raw: str
    """As written in the name, accents dropped."""
    key: str
    """Lower-case, American spelling, Arabic numerals."""
    possessive: bool


_TOKEN = re.compile(r"([A-Za-z0-9]+)('s|s'|')?(?![A-Za-z0-9])")


def _words(name: str) -> list[_Word]:
    found: list[_Word] = []
    for match in _TOKEN.finditer(prepared_text(name)):
        raw = match.group(1)
        if raw in ("s", "S") and found:  # "Crohn’s": the apostrophe folded to a space
            found[-1] = _Word(found[-1].raw, found[-1].key, True)
            continue
        key = _american(raw.lower())
        key = next((digit for digit, roman in _ROMAN.items() if roman == key), key)
        found.append(_Word(raw, key, match.group(2) is not None))
    return found


def _key(name: str) -> str:
    return " ".join(word.key for word in _words(name))


def _forms(word: str, rules: _Rules) -> set[str]:
    """A word and its other forms: the first ``forms`` rule its ending fits, else a plural."""
    for rule in rules.forms:
        if word.endswith(rule.ending) and len(word) > len(rule.ending) + 2:
            stem = word[: -len(rule.ending)]
            return {word, *(stem + other for other in rule.others)}
    if word.isdigit() or len(word) < 3:
        return {word}
    return {word, word + ("es" if word.endswith(("s", "x", "z", "ch", "sh")) else "s")}


Kind = Literal["name", "short", "eponym", "capitalised"]


@dataclass(frozen=True, slots=True)
class Variant:
    key: str
    """What :meth:`LeakGuard.names_in` reports: one folded key per variant."""
    pattern: str
    """Matched in lower-case text, a short form's as written."""
    kind: Kind
    prefixes: tuple[str, ...]
    """Strings every mention holds (lower-case, or as written for a short form)."""


def _name_variant(words: list[_Word], eponym: bool = False) -> Variant:
    """A name or phrase, each word in its spellings, the last in its forms (an eponym with
    its adjective); an eponym that is an everyday word counts only capitalised."""
    rules, glossary = guard_rules(), guard_words()
    capitalised = eponym and words[0].key in rules.word_eponyms
    pieces: list[str] = []
    prefixes: tuple[str, ...] = ()
    rarest = (False, False, 0)
    for i, word in enumerate(words):
        spellings = _spellings(word.key) | {word.raw.lower()}
        if eponym:
            spellings |= {s + end for s in spellings for end in glossary.eponym_endings}
        elif i == len(words) - 1:
            spellings = {form for spelling in spellings for form in _forms(spelling, rules)}
        ordered = sorted(spellings, key=lambda s: (-len(s), s))
        pieces.append(f"(?:{'|'.join(map(re.escape, ordered))}){_POSSESSIVE}")
        # Every mention holds each word in one of its spellings, so any word's starts will
        # do: those of a distinctive word of four letters or more, as long as its spellings
        # allow, are rarest in text ("appendiciti", not "acut"), which keeps the guard's cheap
        # test selective.
        common = os.path.commonprefix(ordered)  # noqa: RUF071 - words: a character prefix
        starts = {common} if len(common) >= 4 else {s[: len(ordered[-1])] for s in ordered}
        length = min(map(len, starts))
        rank = (length >= 4, rules.distinctive(word), length)
        if rank > rarest:
            rarest, prefixes = rank, tuple(sorted(starts))
    kind: Kind = "capitalised" if capitalised else "eponym" if eponym else "name"
    return Variant(" ".join(w.key for w in words), _NAME_SEPARATOR.join(pieces), kind, prefixes)


def _short_variant(letters: str) -> Variant:
    """A short form as written, dotted ("P.E."), or spaced from three letters ("G B S")."""
    forms, prefixes = [re.escape(letters)], {letters[:2]}
    if letters.isalpha():
        forms.insert(0, r"\.\s?".join(letters) + r"\.?")
        # The first two letters as each form writes them ("P.E", "P. E", "G B"): a capital
        # alone before a full stop or a space is in every other sentence.
        prefixes |= {f"{letters[0]}.{gap}{letters[1]}" for gap in ("", *_ASCII_SPACES)}
        if len(letters) >= 3:
            forms.append(" ".join(letters))
            prefixes.add(f"{letters[0]} {letters[1]}")
    pattern = f"(?:{'|'.join(forms)})(?:'?s)?"
    return Variant(letters.lower(), pattern, "short", tuple(sorted(prefixes)))


_SHORT = re.compile(r"[A-Z][A-Z0-9]{1,5}")
_ROMAN_NUMERAL = re.compile(r"[IVXLC]+")


def _short_letters(name: str) -> str | None:
    """The letters of a short all-capital name ("MG", "G.B.S.", "T2DM"), or None."""
    compact = name.strip().replace(".", "")
    letters = sum(c.isalpha() for c in compact)
    return compact if _SHORT.fullmatch(compact) and 2 <= letters <= 5 else None


def _initialism(words: list[_Word]) -> str | None:
    """The initialism of a name of several words, if it is a safe short form: 3-5 letters,
    not a Roman numeral, not a test's, a ward's or a dose's abbreviation."""
    letters = ""
    for word in words:
        if word.key not in STOP_WORDS:
            raw = word.raw
            long_ = (raw.isupper() and len(raw) > 1) or raw.isdigit()
            letters += raw if long_ else raw[0].upper()
    count = sum(c.isalpha() for c in letters)
    if len(words) < 2 or not 3 <= count <= 5 or len(letters) > 6:
        return None
    if _ROMAN_NUMERAL.fullmatch(letters):
        return None
    return None if letters.lower() in guard_words().common_abbreviations else letters


def _head_phrases(words: list[_Word]) -> list[list[_Word]]:
    """The diagnosis's distinctive variants: each tail of its head phrase (after a cause,
    before a connector) that holds a distinctive word, and the noun before a Latin adjective.
    The name of what the patient took or met ("paracetamol overdose") has none."""
    rules = guard_rules()
    if any(w.key in rules.agents for w in words):
        return []
    start = max((i + 1 for i, w in enumerate(words) if w.key in rules.causes), default=0)
    end = next((i for i in range(start + 1, len(words)) if words[i].key in rules.connectors), None)
    whole = words[start:end]
    part = list(whole)
    while part and not rules.distinctive(part[-1]):
        part.pop()
    phrases: list[list[_Word]] = []
    for tails in (part, whole):
        for i in range(len(tails)):
            tail = tails[i:]
            if tail in phrases or not any(map(rules.distinctive, tail)):
                continue
            if len(tail) > 1 or (tail[0].key not in rules.postpositive and len(tail[0].key) >= 4):
                phrases.append(tail)
    head = len(part)
    while head > 0 and part[head - 1].key in rules.postpositive:
        head -= 1
    if 0 < head < len(part) and len(part[head - 1].key) >= 4 and rules.distinctive(part[head - 1]):
        phrases.append([part[head - 1]])
    return phrases


def _eponyms(words: list[_Word]) -> set[str]:
    """Keys of a name's words that are a person's name: listed, possessive, or capitalised
    inside the name ("Guillain-Barré")."""
    rules = guard_rules()
    if any(w.key in rules.agents for w in words):
        return set()
    return {
        w.key
        for i, w in enumerate(words)
        if (w.possessive or w.key in rules.eponyms or (i > 0 and w.raw.istitle()))
        and rules.distinctive(w)
        and len(w.key) >= 4
    }


@functools.cache
def _synonym_groups() -> dict[str, tuple[str, ...]]:
    return {_key(name): group for group in load_synonym_table().synonyms for name in group}


def _synonyms(name: str) -> tuple[str, ...]:
    """The names the synonym table gives the same disease ("acute" may be dropped)."""
    key, groups = _key(name), _synonym_groups()
    return groups.get(key) or groups.get(key.removeprefix("acute ")) or ()


def variants_of(names: tuple[str, ...]) -> list[Variant]:
    """Every name whole with its short forms, then the diagnosis's head phrases and
    eponyms; longest first, so that a longer mention wins over the shorter one inside it."""
    own = [_words(name) for name in names]
    eponyms = set().union(*map(_eponyms, own))
    found: dict[tuple[bool, str], Variant] = {}

    def add(words: list[_Word], written: str) -> None:
        letters = _short_letters(written)
        if letters is not None:
            variant = _short_variant(letters)
        else:
            variant = _name_variant(words, eponym=len(words) == 1 and words[0].key in eponyms)
        found.setdefault((variant.kind == "short", variant.key), variant)

    every = [*zip(names, own, strict=True)]
    every += [(other, _words(other)) for name in names for other in _synonyms(name)]
    for name, words in every:
        if words:
            add(words, name)
            initialism = None if _short_letters(name) else _initialism(words)
            if initialism is not None:
                add(words, initialism)
    if _short_letters(names[0]) is None:
        for phrase in _head_phrases(own[0]):
            add(phrase, " ".join(w.raw for w in phrase))
        for word in own[0]:
            if word.key in _eponyms(own[0]):
                add([word], word.raw)
    return sorted(found.values(), key=lambda v: (-len(v.key), v.key))
