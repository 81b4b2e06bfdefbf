"""Word-level rules of the diagnosis matcher: spelling, hedges, negation, lists and typos.

These are rules rather than word lists, so that a variant nobody listed is still caught:
British and American spelling (ae/e, oe/e, our/or, -ise/-ize, -tre/-ter), plurals and
possessives, Greek letters, Roman numerals, "type 2" written several ways, and a guarded
edit distance for misspelt long words. Everything here is pure and cheap; the matcher
caches the results per text.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence

from clinic_env.language.text import fold

__all__ = [
    "JOINED_PREFIXES",
    "ORDER_WORDS",
    "disease_like",
    "inflamed_organ",
    "is_acronym",
    "is_negated",
    "normal_words",
    "organ_key",
    "organism_adjective",
    "organism_disease",
    "respell",
    "singular",
    "slip_pair",
    "split_list",
    "stem",
    "strip_hedges",
    "strip_list_markers",
    "typo_pair",
]

# Greek letters are folded to names before accents go ("β-thalassaemia" is "beta ...").
_GREEK = str.maketrans(
    {"α": " alpha ", "β": " beta ", "γ": " gamma ", "δ": " delta ", "κ": " kappa ", "λ": " lambda "}
)

# "1.", "2)", "(a)", "iv)", "-", "*", "•" before an entry. A letter needs a closing
# parenthesis, so that "E. coli" keeps its initial.
_LIST_MARKER = re.compile(
    r"^\s*(?:[-*•·–—>?]+|#?\d{1,2}\s*[.):](?!\d)|\(\d{1,2}\)|\(?[a-z]\)|\(?[ivx]{1,4}\))\s*",
    re.IGNORECASE,
)


def _phrases(text: str) -> tuple[tuple[str, ...], ...]:
    """Folded phrases separated by ``|``, longest first so that the longest one wins."""
    phrases = {tuple(fold(part).split()) for part in text.split("|")}
    return tuple(sorted((p for p in phrases if p), key=len, reverse=True))


# Words that state how sure the doctor is, or label the answer; they carry no disease.
# "r/o" and "rule out" are hedges: in a differential they put the disease on the list.
_LEADING_HEDGES = _phrases(
    """most likely | more likely | very likely | highly likely | likely | probable | probably |
    possible | possibly | presumed | presumptive | presumably | suspected | suspect | query |
    suspicion of | suspicious for | concern for | concerning for | r o | rule out | to rule out |
    exclude | to exclude | consider | considering | consistent with | suggestive of |
    in keeping with | compatible with | features of | picture of | clinical diagnosis of |
    diagnosis | diagnoses | diagnosis of | diagnosis is | differential | differential diagnosis |
    final diagnosis | working diagnosis | provisional diagnosis | primary diagnosis |
    main diagnosis | leading diagnosis | top diagnosis | dx | ddx | impression | assessment |
    i think | i suspect | i believe | i would say | this is | this is likely | it is | it s |
    patient has | the patient has | patient with | a | an | the | is | of | be | would be"""
)
_TRAILING_HEDGES = _phrases(
    """likely | most likely | more likely | less likely | very likely | is likely |
    is most likely | probable | probably | possible | possibly | suspected | presumed | query |
    favoured | favored | confirmed | diagnosis | is the diagnosis | suspected diagnosis"""
)

# A statement that denies the disease, or places it in the past, is not a diagnosis of it.
_NEGATING_WORDS = frozenset({"not", "unlikely", "excluded", "absent"})
_NEGATING_PAIRS = frozenset(
    {
        ("ruled", "out"),
        ("rules", "out"),
        ("history", "of"),
        ("negative", "for"),
        ("no", "evidence"),
        ("absence", "of"),
    }
)
_NEGATING_FIRST = frozenset({"no", "without", "never", "previous", "prior", "past", "doubt"})
_NEGATING_FIRST_PAIRS = frozenset({("h", "o")})
_NEGATING_LAST = frozenset({"negative", "resolved"})

# "type 2", "stage IV", "grade 3", "group A", "class II": one token, so word order and the
# qualifier rules treat the pair as one specific word.
JOINED_PREFIXES = frozenset({"type", "stage", "grade", "group", "class"})
_ROMAN = {
    "i": "1",
    "ii": "2",
    "iii": "3",
    "iv": "4",
    "v": "5",
    "vi": "6",
    "vii": "7",
    "viii": "8",
    "ix": "9",
    "x": "10",
    "xi": "11",
    "xii": "12",
    "xiii": "13",
}

# Words whose order matters ("left to right shunt", "acute on chronic"): with one of them,
# two names must keep their words in the same order.
ORDER_WORDS = frozenset({"to", "from", "into", "on", "versus", "vs", "than"})

_OUR = re.compile(r"(?<=[a-z]{3})our(?=s?$|ed$|ing$|al$|ite)")
_ISE = re.compile(r"(?<=[a-z]{3})([iy])s(e|ed|es|ing|ation|ations|er)$")
_TRE = re.compile(r"(?<=[a-z]{2})([bt])re(s?)$")


@functools.lru_cache(maxsize=1 << 16)
def respell(word: str) -> str:
    """One spelling for British and American variants, by rule (both sides get it)."""
    if len(word) < 4 or not word.isalpha():
        return word
    word = word.replace("ae", "e").replace("oe", "e")
    if word.startswith("leuc"):
        word = "leuk" + word[4:]
    word = word.replace("sulph", "sulf")
    word = _OUR.sub("or", word)
    word = _ISE.sub(r"\1z\2", word)
    word = _TRE.sub(r"\1er\2", word)
    if word.endswith("ogue") and len(word) >= 7:
        word = word[:-2]
    return word


@functools.lru_cache(maxsize=1 << 16)
def singular(word: str) -> str:
    """Plural and possessive "s" dropped ("seizures", "Crohns", "Graves"), and the Greek
    and Latin plurals of disease words ("keratoses", "vasculitides", "condylomata"), by
    rule."""
    if len(word) < 4 or not word.isalpha():
        return word
    for plural, one in (("itides", "itis"), ("omata", "oma"), ("oses", "osis")):
        if word.endswith(plural) and len(word) >= 7:
            return word[: -len(plural)] + one
    if word.endswith("ies") and len(word) >= 5:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def strip_list_markers(text: str, *, keep_sign: bool = False) -> str:
    """Remove leading list markers ("1.", "a)", "-"), repeatedly, from raw text; with
    ``keep_sign``, never the minus or plus sign of a number ("-0.45")."""
    for _ in range(3):
        if keep_sign and _SIGNED_START.match(text):
            break
        stripped = _LIST_MARKER.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return text


_SIGNED_START = re.compile(r"^\s*[-−–+]\d")


def _by_first_word(
    phrases: tuple[tuple[str, ...], ...],
) -> dict[str, tuple[tuple[str, ...], ...]]:
    index: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases:
        index.setdefault(phrase[0], []).append(phrase)
    return {word: tuple(found) for word, found in index.items()}


_LEADING = _by_first_word(_LEADING_HEDGES)
_TRAILING = _by_first_word(tuple(tuple(reversed(p)) for p in _TRAILING_HEDGES))


def strip_hedges(words: list[str]) -> list[str]:
    """Remove hedges and labels from both ends until none is left."""
    changed = True
    while changed and words:
        changed = False
        for phrase in _LEADING.get(words[0], ()):
            if tuple(words[: len(phrase)]) == phrase:
                words = words[len(phrase) :]
                changed = True
                break
        if not words:
            break
        for phrase in _TRAILING.get(words[-1], ()):
            size = len(phrase)
            if len(words) >= size and tuple(reversed(words[-size:])) == phrase:
                words = words[:-size]
                changed = True
                break
    return words


def _join_prefixes(words: list[str]) -> list[str]:
    joined: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        following = words[index + 1] if index + 1 < len(words) else ""
        if word in JOINED_PREFIXES and following and len(following) <= 3:
            joined.append(word + following)
            index += 2
            continue
        joined.append(word)
        index += 1
    return joined


def normal_words(text: str, spelling: dict[str, str]) -> list[str]:
    """Folded words with list markers and hedges gone and every spelling rule applied.

    ``spelling`` holds the irregular variants that no rule derives (``calculi: calculus``).
    Negations are kept, so that equal normal forms always mean equal statements.
    """
    raw = strip_list_markers(text.translate(_GREEK) if not text.isascii() else text)
    words = fold(raw).split()
    words = _join_initials(strip_hedges(_canonical(words)))
    out = [singular(respell(spelling.get(word, word))) for word in words]
    return _join_prefixes([_ROMAN.get(word, word) for word in out])


_LETTER_PAIRS = frozenset({("h", "o"), ("r", "o"), ("c", "o")})  # h/o, r/o, c/o: not names


def _join_initials(words: list[str]) -> list[str]:
    """Letters written apart ("C.O.P.D.", "U T I") joined into their abbreviation; a single
    letter stays ("hepatitis A", "E. coli")."""
    joined: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1 and word.isalpha():
            run.append(word)
            continue
        joined.extend(["".join(run)] if len(run) >= 2 and tuple(run) not in _LETTER_PAIRS else run)
        run = []
        if word:
            joined.append(word)
    return joined


# Phrases that name a cause: "neuropathy due to diabetes" is "diabetic neuropathy", "poisoning
# by lead" is "lead poisoning". They read as "by", which order-free comparison ignores and
# after which the matcher reads the cause as detail, so that their "to" and "from" are no
# order words ("left to right shunt"). "Metastases from" names the origin the same way.
_CAUSE_LINKS = {
    ("due", "to"),
    ("secondary", "to"),
    ("owing", "to"),
    ("attributable", "to"),
    ("caused", "by"),
    ("induced", "by"),
    ("because", "of"),
    ("resulting", "from"),
    ("related", "to"),
    ("associated", "with"),
}
_ORIGIN_FROM = frozenset({"metastases", "metastasis", "metastatic", "secondaries", "deposits"})


def _canonical(words: list[str]) -> list[str]:
    """ "Not otherwise specified" is one token, so that its "not" is no negation; a phrase
    naming a cause ("due to", "caused by", "by") reads as "by"."""
    text = " ".join(words)
    if "not otherwise specified" in text:
        text = text.replace("not otherwise specified", "nos")
    words = text.split()
    if not any(w in ("to", "by", "of", "from", "with") for w in words):
        return words
    out: list[str] = []
    index = 0
    while index < len(words):
        pair = tuple(words[index : index + 2])
        if pair in _CAUSE_LINKS and out and index + 2 < len(words):
            out.append("by")
            index += 2
        elif words[index] == "from" and out and out[-1] in _ORIGIN_FROM and index + 1 < len(words):
            out.append("by")
            index += 1
        else:
            out.append(words[index])
            index += 1
    return out


def is_negated(words: Sequence[str]) -> bool:
    """Whether normalised words deny the disease or place it in the past."""
    if not words:
        return False
    if words[0] in _NEGATING_FIRST or words[-1] in _NEGATING_LAST:
        return True
    if tuple(words[:2]) in _NEGATING_FIRST_PAIRS:
        return True
    if any(word in _NEGATING_WORDS for word in words):
        return True
    return any(pair in _NEGATING_PAIRS for pair in itertools.pairwise(words))


_ACRONYM_FILLERS = frozenset({"of", "the", "and", "with", "in"})


def is_acronym(short: Sequence[str], long: Sequence[str]) -> bool:
    """Whether ``short`` spells the initials of ``long`` ("pe" for "pulmonary embolism")."""
    letters = "".join(short)
    if len(short) != 1 or len(letters) < 2 or len(long) < 2:
        return False
    initials = "".join(word[0] for word in long)
    content = "".join(word[0] for word in long if word not in _ACRONYM_FILLERS)
    return letters in (initials, content)


# Separators between several names in one entry. "/" only between words of two letters or
# more, so that "r/o" and "h/o" stay hedges.
_SEPARATORS = re.compile(
    r"\s+(?:and/or|or|and|vs\.?|versus|&|\+)\s+|\s*;\s*|(?<=\w\w)\s*/\s*(?=\w\w)",
    re.IGNORECASE,
)
_COMMA = re.compile(r"\s*,\s*")


def split_list(text: str) -> tuple[list[str], bool]:
    """The parts of an entry at list separators, and whether only commas separated them."""
    parts = [p for p in _SEPARATORS.split(text) if p and p.strip()]
    pieces = [q for part in parts for q in _COMMA.split(part) if q.strip()]
    return pieces, len(parts) == 1


_INFLAMMATION = ("inflammation", "inflamed")


def inflamed_organ(words: Sequence[str], organs: dict[str, str]) -> list[str] | None:
    """ "inflammation of the liver", "liver inflammation" or "inflamed liver" as the
    organ's "-itis" word (``organs`` maps the organ's normal words to it), else None."""
    if len(words) < 2 or not _INFLAMMATION.count(words[0]) + _INFLAMMATION.count(words[-1]):
        return None
    if words[0] == "inflammation":
        rest = words[1:]
    elif words[0] == "inflamed" or words[-1] == "inflammation":
        rest = words[1:] if words[0] == "inflamed" else words[:-1]
    else:
        return None
    found = organs.get(organ_key(rest))
    return found.split() if found else None


def organ_key(words: Sequence[str]) -> str:
    """An organ's words as :func:`inflamed_organ` looks them up ("lining brain")."""
    return " ".join(w for w in words if w not in ("of", "the", "a", "an", "in"))


def disease_like(words: Sequence[str], heads: frozenset[str], suffixes: tuple[str, ...]) -> bool:
    """Whether words read as a disease name: a disease head word or a disease suffix."""
    return any(word in heads or word.endswith(suffixes) for word in words)


def _collapse(word: str) -> str:
    """Doubled letters single, and c/k, ph/f alike: the usual slips of a misspelt word."""
    word = word.replace("ph", "f").replace("k", "c")
    return "".join(char for char, _ in itertools.groupby(word))


def _one_edit(a: str, b: str) -> bool:
    """Damerau distance exactly one: a substitution, an insertion or a swap of neighbours."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and (a[diff[1]] == b[diff[0]])
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


# Endings that carry meaning: two words that differ in one of them are two words
# ("nephrotic" / "nephritic"), however close their spelling.
_MEANINGFUL_ENDINGS = ("itis", "osis", "otic", "itic", "oma", "emia", "ism", "ia", "ic", "al")


def typo_pair(a: str, b: str, min_length: int) -> bool:
    """Whether ``a`` and ``b`` are one slip apart (the caller guards real word pairs); a
    dropped or added letter counts from one letter shorter ("absess" for "abscess")."""
    if not (a.isalpha() and b.isalpha()) or min(len(a), len(b)) < 4:
        return False
    if slip_pair(a, b):
        return True
    ends_a = [e for e in _MEANINGFUL_ENDINGS if a.endswith(e)]
    ends_b = [e for e in _MEANINGFUL_ENDINGS if b.endswith(e)]
    if ends_a and ends_b and ends_a[0] != ends_b[0]:
        return False
    shortest = min_length - 1 if len(a) != len(b) else min_length
    return min(len(a), len(b)) >= shortest and _one_edit(a, b)


def slip_pair(a: str, b: str) -> bool:
    """A doubled or single letter, c for k, ph for f: the commonest slips, even between
    two words the vocabulary knows ("Wolf" / "Wolff")."""
    return a != b and len(a) >= 4 and len(b) >= 4 and _collapse(a) == _collapse(b)


_ADJECTIVE_ENDINGS = ("atic", "ical", "ic", "al", "ar", "ine", "ian", "eal", "ed")
_NOUN_ENDINGS = ("ion", "um", "us", "is", "a", "y", "e")


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """The stem a noun and its adjective or participle share ("aorta" / "aortic", "patella" /
    "patellar", "fracture" / "fractured", "dislocation" / "dislocated")."""
    for ending in (*_ADJECTIVE_ENDINGS, *_NOUN_ENDINGS):
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
    return word


_GENUS_ENDINGS = ("ella", "a", "us", "um", "es", "is", "as", "ae", "i")
_DISEASE_ENDINGS = ("osis", "iasis", "asis", "ellosis", "omycosis", "sis")


def organism_disease(genus: str, disease: str) -> bool:
    """Whether ``disease`` is named from ``genus`` ("Toxoplasma" / "toxoplasmosis")."""
    for ending in _GENUS_ENDINGS:
        if genus.endswith(ending) and len(genus) - len(ending) >= 5:
            stem = genus[: -len(ending)]
            rest = disease[len(stem) :]
            if disease.startswith(stem) and rest in _DISEASE_ENDINGS:
                return True
    return False


def organism_adjective(adjective: str, disease: str) -> bool:
    """Whether ``adjective`` names the infection ``disease`` ("tuberculous" / "tuberculosis",
    "syphilitic" / "syphilis", "candidal" / "candidiasis")."""
    for ending in ("ous", "itic", "al", "ic"):
        stem = adjective[: -len(ending)]
        if (
            adjective.endswith(ending)
            and len(stem) >= 4
            and disease.startswith(stem)
            and disease[len(stem) :] in ("osis", "iasis", "asis", "is", "a")
        ):
            return True
    return False
