"""Text normalisation shared by every offline component (retrieval, matching, parsing).

One place decides what "the same words" means: accents folded, case folded, possessives
dropped, punctuation turned into spaces, and a light suffix stemmer so that "coughing",
"coughs" and "cough" meet.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_POSSESSIVE = re.compile(r"['’](?<=\w['’])[sS]\b")
"""The apostrophe and s after a word character: the search tries apostrophes only, where one
that began with the word character tried nearly every character (6 us for a reply)."""
_NON_WORD = re.compile(r"[^a-z0-9]+")

_STOP_WORD_TEXT = (
    "a an and are as at be been being but by can could did do does doing for from had "
    "has have having how i if in into is it its just me my of on or our so than that "
    "the their them then there these they this those to too very was we were what "
    "when where which who whom why will with would you your yours any some about ever "
    "been tell please okay ok well also much many"
)
STOP_WORDS = frozenset(_STOP_WORD_TEXT.split())


_ASCII_FOLD = {code: (chr(code).lower() if chr(code).isalnum() else " ") for code in range(128)}


@functools.lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower-case, accent-free, possessive-free text with single spaces and no punctuation."""
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        text = text.replace("’", "'")
    if "'s" in text or "'S" in text:  # most texts have none
        text = _without_possessives(text)
    folded = text.translate(_ASCII_FOLD)
    if not folded.isascii():
        folded = _NON_WORD.sub(" ", folded.lower())
    return " ".join(folded.split())


def _without_possessives(text: str) -> str:
    """``text`` with each "'s" after a word character dropped, left to right: an "'s" right
    after one just dropped ("a's's") keeps its own, whose word character that one took."""
    pieces, last = [], 0
    for match in _POSSESSIVE.finditer(text):
        if match.start() > last:
            pieces.append(text[last : match.start()])
            last = match.end()
    pieces.append(text[last:])
    return "".join(pieces)


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A deliberately light suffix stripper: enough for plurals and -ing/-ed forms."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, replacement in (
        ("ies", "y"),
        ("ness", ""),
        ("ing", ""),
        ("edly", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            return word[: -len(suffix)] + replacement
    return word


def words(text: str) -> list[str]:
    """Folded words, stop words kept (order matters to phrase matching)."""
    return fold(text).split()


def content_stems(text: str) -> list[str]:
    """Stems of the words that carry meaning, in order, stop words removed."""
    return [stem(word) for word in fold(text).split() if word not in STOP_WORDS]


def contains_phrase(haystack: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``haystack`` on word boundaries, after folding both."""
    needle = fold(phrase)
    if not needle:
        return False
    return f" {needle} " in f" {fold(haystack)} "
