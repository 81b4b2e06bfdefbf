"""The leak guard: names, variants and short forms withheld; units, other senses and the
doctor's own words left alone; measured on a labelled set of sentences."""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from clinic_env.content import content_path, load_yaml_model
from clinic_env.errors import ContentError
from clinic_env.language.leak import (
    LeakGuard,
    _substring_finder,
    case_guard,
    guarded_names,
    leak_guard,
    withheld_case,
)
from clinic_env.language.leak_variants import (
    _FOLDING,
    GUARD_WORDS,
    GuardWords,
    prepared_text,
    variants_of,
)
from clinic_env.language.matcher import DiagnosisMatcher, load_synonym_table
from tests.helpers.cases import minimal_case

SENTENCES = Path(__file__).parent / "fixtures" / "guard_sentences.yaml"
REPLACEMENT = "[withheld]"
_MARK = re.compile(r"\[\[(.+?)\]\]")


@dataclass(frozen=True)
class Labelled:
    """One sentence of the labelled set: the names it is checked against, the text as the
    guard receives it, the text it must return, and what the doctor wrote before."""

    names: tuple[str, ...]
    kind: str
    text: str
    expected: str
    doctor: str | None

    @property
    def leak(self) -> bool:
        return self.text != self.expected


def labelled_set(path: Path = SENTENCES) -> list[Labelled]:
    """The labelled sentences; ``[[...]]`` in a sentence marks a mention to withhold."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Labelled(
            tuple(group["names"]),
            item["kind"],
            _MARK.sub(r"\1", item["text"]),
            _MARK.sub(REPLACEMENT, item["text"]),
            item.get("doctor"),
        )
        for group in data["groups"]
        for item in group["sentences"]
    ]


def guarded(item: Labelled) -> str:
    """What the doctor would be shown: the sentence through the case's guard, sparing the
    names the doctor used itself (as the session does for patient replies)."""
    guard = leak_guard(guarded_names(item.names[0], item.names[1:]), REPLACEMENT)
    spare = guard.names_in(item.doctor) if item.doctor else frozenset()
    return guard.scrub(item.text, spare_names=spare)[0]


@dataclass(frozen=True)
class Figures:
    leaks: int
    caught: int
    innocent: int
    untouched: int
    misses: tuple[tuple[Labelled, str], ...]

    @property
    def caught_rate(self) -> float:
        return self.caught / self.leaks

    @property
    def untouched_rate(self) -> float:
        return self.untouched / self.innocent


def measure(items: list[Labelled]) -> Figures:
    """Leaks caught (the exact expected text came back) and innocent text left untouched."""
    misses = []
    for item in items:
        got = guarded(item)
        if got != item.expected:
            misses.append((item, got))
    missed = Counter(item.leak for item, _ in misses)
    leaks = sum(item.leak for item in items)
    innocent = len(items) - leaks
    return Figures(leaks, leaks - missed[True], innocent, innocent - missed[False], tuple(misses))


def test_labelled_set_meets_the_targets():
    items = labelled_set()
    assert len(items) >= 300
    assert {item.leak for item in items} == {True, False}
    figures = measure(items)
    report = "\n".join(f"{i.kind}: {i.text!r} -> {got!r}" for i, got in figures.misses)
    assert figures.caught_rate >= 0.98, report
    assert figures.untouched_rate >= 0.99, report


@pytest.fixture
def guard() -> LeakGuard:
    return LeakGuard(["Crohn's disease", "Guillain–Barré syndrome", "PE"], REPLACEMENT)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It might be CROHN'S disease.", "It might be [withheld]."),
        ("crohns disease", "[withheld]"),
        ("Crohn disease, flaring", "[withheld], flaring"),
        ("Guillain-Barre syndrome", "[withheld]"),
        ("guillain barré  syndrome!", "[withheld]!"),
        ("likely a PE, or not", "likely a [withheld], or not"),
        ("likely P.E. again", "likely [withheld] again"),
        ("a known Crohn's patient", "a known [withheld] patient"),
        ("Crohn", "[withheld]"),
    ],
)
def test_mentions_are_withheld(guard, text, expected):
    assert guard.scrub(text) == (expected, True)


@pytest.mark.parametrize(
    "text",
    ["People eat", "Crohnic", "pulmonary", "", "spelled P E", "pe", "PE teacher", "PE kit", "GB"],
)
def test_non_mentions_pass_untouched(guard, text):
    assert guard.scrub(text) == (text, False)


def test_guard_without_names_is_a_no_op():
    assert LeakGuard([], "x").scrub("anything") == ("anything", False)
    assert LeakGuard([], "x").names_in("anything") == frozenset()


def test_names_in_finds_the_variants_scrub_withholds():
    guard = LeakGuard(["Primary spontaneous pneumothorax"], REPLACEMENT)
    said = guard.names_in("Could it be a spontaneous pneumothorax?")
    assert said == {"spontaneous pneumothorax", "pneumothorax"}
    assert guard.scrub("Spontaneous pneumothorax?", spare_names=said) == (
        "Spontaneous pneumothorax?",
        False,
    )
    assert guard.scrub("A pneumothorax, maybe.", spare_names=said)[1] is False
    full = "primary spontaneous pneumothorax"
    assert guard.scrub(full, spare_names=said) == (REPLACEMENT, True)


def test_names_in_finds_more_than_scrub_withholds_never_less():
    """What the doctor wrote is read in any case and context: sparing too much lets an echo
    through for every name alike, sparing too little would withhold it for the truth alone."""
    guard = LeakGuard(["Myasthenia gravis", "MG"], REPLACEMENT)
    assert guard.scrub("pyridostigmine 60 MG") == ("pyridostigmine 60 MG", False)
    assert guard.names_in("pyridostigmine 60 MG") == {"mg"}
    assert guard.names_in("is it mg or lems?") == {"mg"}
    assert guard.names_in("Any change in your weight?") == frozenset()


def test_short_forms_are_spared_in_any_spelling_the_doctor_used():
    guard = LeakGuard(["Guillain–Barré syndrome", "GBS"], REPLACEMENT)
    said = guard.names_in("Is it G.B.S.?")
    assert said == {"gbs"}
    assert guard.scrub("GBS? Never heard of it.", spare_names=said)[1] is False
    assert guard.scrub("Guillain-Barré? Never heard of it.", spare_names=said)[1] is True


CANDIDATES = [
    "pneumothorax",
    "tension pneumothorax",
    "Pneumothoraces",
    "PSP",
    "myasthenia",
    "myasthenic crisis",
    "MG",
    "Graves",
    "graves' disease",
    "PE",
    "p.e.",
    "pulmonary emboli",
    "Still's",
    "pneumonia",
    "asthma",
    "MS",
]
DOCTOR_FRAMES = ["Is it {}?", "{}?", "IS IT {}?", "Could this be {} or not", "60 {}"]
ECHO_FRAMES = ["{}? I don't know, doctor.", "You think I have {}?", "NO IDEA WHAT {} IS."]


@pytest.mark.parametrize(
    "names",
    [
        ("Primary spontaneous pneumothorax", "PSP"),
        ("Myasthenia gravis", "MG"),
        ("Graves' disease",),
        ("Pulmonary embolism", "PE"),
        ("Adult-onset Still's disease",),
    ],
)
def test_a_name_sweep_through_the_doctors_words_is_answered_alike(names):
    """Every candidate the doctor names comes back as written, in any frame, the truth's
    variants too: a reply repeating the doctor's words never singles out the answer."""
    guard = leak_guard(names, REPLACEMENT)
    for candidate in CANDIDATES:
        for asked in DOCTOR_FRAMES:
            spared = guard.names_in(asked.format(candidate))
            for frame in ECHO_FRAMES:
                reply = frame.format(candidate.upper() if frame.isupper() else candidate)
                assert guard.scrub(reply, spare_names=spared) == (reply, False), (asked, reply)


def test_word_lists_are_checked_on_load(tmp_path):
    text = content_path(*GUARD_WORDS).read_text(encoding="utf-8")
    broken = tmp_path / "leak_guard.yaml"
    broken.write_text(text.replace("[of, with,", "[of, of, with,"), encoding="utf-8")
    with pytest.raises(
        ContentError, match=r"leak_guard.yaml:\d+ \(field connectors\).*'of' is listed twice"
    ):
        load_yaml_model(broken, GuardWords)


def test_guard_is_cached_per_names():
    assert leak_guard(("Gout",), "x") is leak_guard(("Gout",), "x")


def test_answers_that_are_not_diagnoses_are_not_withheld():
    """MediQ answers drugs, mechanisms and numbers: the patient's medication list stays
    whole, so no gap gives the option away by elimination."""
    case = minimal_case(
        facts=[
            {"category": "medications", "text": "Takes lisinopril and metformin daily."},
        ],
        ground_truth={"diagnosis": "Metformin", "answer_kind": "treatment"},
    )
    guard = case_guard(case, REPLACEMENT)
    assert guard.scrub("She takes metformin.") == ("She takes metformin.", False)
    assert withheld_case(case, guard) == case
    as_diagnosis = minimal_case(ground_truth={"diagnosis": "Gout"})
    assert case_guard(as_diagnosis, REPLACEMENT).scrub("It is gout.")[1] is True


def test_case_data_is_withheld_before_the_roles_see_it():
    case = minimal_case(
        facts=[
            {
                "category": "past_history",
                "text": "Had a gouty flare of the toe last year; told it was gout.",
            }
        ],
    )
    withheld = withheld_case(case, case_guard(case, REPLACEMENT))
    assert (
        withheld.facts[0].text == "Had a gouty flare of the toe last year; told it was [withheld]."
    )


def test_every_name_the_matcher_scores_as_the_answer_is_withheld():
    """A record naming what the matcher would score as the answer ("NSTEMI" when it is
    myocardial infarction) gives it away: for every disease of the synonym table, each such
    name, as the table or terminology writes it, is withheld by that disease's guard."""
    missed = []
    for group in load_synonym_table().synonyms:
        names = guarded_names(group[0])
        guard = leak_guard(names, REPLACEMENT)
        missed += [(group[0], n) for n in names if not guard.scrub(f"A note says: {n}.")[1]]
    # Chromosome bands ("22q11.2") and an ampersand are left: four of some 7,600 names.
    assert len(missed) <= 4, missed


def test_named_forms_reach_the_case_guard():
    case = minimal_case(
        ground_truth={"diagnosis": "Myocardial infarction", "differentials": []},
        opening_statement="My chest hurts.",
    )
    guard = case_guard(case, REPLACEMENT)
    assert guard.scrub("ECG: inferior STEMI.") == (f"ECG: inferior {REPLACEMENT}.", True)
    assert guard.scrub("She had a heart attack in 2019.")[1]
    assert not guard.scrub("Troponin is normal; no ST changes.")[1]
    assert DiagnosisMatcher.from_content().matches("NSTEMI", "Myocardial infarction")
    assert "NSTEMI" in guarded_names("Myocardial infarction")


def test_every_mention_holds_one_of_its_variants_prefixes():
    """The guard's cheap test passes a text on only if it holds a prefix: a mention without
    one would go through unwithheld. Checked on every labelled sentence and on short forms
    dotted and spaced with any gap the patterns allow."""
    items = labelled_set()
    texts = [item.text for item in items]
    texts += [f"Is it {gap.join(['P.', 'E.'])} or {'G B S'}?" for gap in ("", " ", "\t", "\n")]
    names = {item.names for item in items} | {("Pulmonary embolism", "PE"), ("GBS",)}
    checked = 0
    for group in names:
        for variant in variants_of(group):
            pattern = re.compile(variant.pattern)
            for text in texts:
                prepared = prepared_text(text)
                searched = prepared if variant.kind == "short" else prepared.lower()
                for match in pattern.finditer(searched):
                    checked += 1
                    assert any(p in match.group() for p in variant.prefixes), (variant, text)
    assert checked > 500


def test_the_prefix_of_a_name_is_its_rarest_word():
    """A qualifier or a body part is in every other sentence of a case; the disease's own
    word is not, and any word of a name is in every mention of it."""
    prefixes = {v.key: v.prefixes for v in variants_of(("Acute appendicitis",))}
    assert prefixes["acute appendicitis"] == ("appendiciti",)
    names = [v for v in variants_of(("Anterior MI",)) if v.kind != "short"]
    assert names and all(len(p) >= 4 for v in names for p in v.prefixes)
    short = {v.key: v.prefixes for v in variants_of(("GBS",))}["gbs"]
    assert "G B" in short and "G. B" in short and "G " not in short


@pytest.mark.parametrize("count", [0, 1, 3, 8, 9, 40])
def test_substring_finder_agrees_with_a_search_per_part(count):
    """Few parts are tested one by one, many as one trie: both answer as ``in`` would."""
    rng = random.Random(count)
    letters = "abAB. \t"
    parts = ["".join(rng.choices(letters, k=rng.randint(1, 4))) for _ in range(count)]
    finder = _substring_finder(parts)
    for _ in range(500):
        text = "".join(rng.choices(letters + "xyz", k=rng.randint(0, 30)))
        assert finder(text) == any(part in text for part in parts), (parts, text)


def test_prepared_text_folds_each_character_in_place():
    """Only non-ASCII characters are looked up; the text is as the character table makes
    it, one ASCII character for each, so positions in it are positions in the original."""
    rng = random.Random(1)
    characters = "aZ 1.’é—°ßİ\u00a0\u0301ﬁ中😀\x85\t"
    for _ in range(5000):
        text = "".join(rng.choices(characters, k=rng.randint(0, 12)))
        prepared = prepared_text(text)
        assert prepared == text.translate(_FOLDING) and len(prepared) == len(text), text
        assert prepared.isascii()


def test_scrub_result_answers_as_scrub_does_once_per_text():
    guard = LeakGuard(["Pulmonary embolism", "PE"], REPLACEMENT)
    for text, spare in [
        ("CTPA: filling defect consistent with pulmonary embolism.", ()),
        ("REQUEST TEST: pulmonary embolism screen: not available.", ("pulmonary embolism screen",)),
        ("Full blood count: normal.", ()),
    ]:
        assert guard.scrub_result(text, spare) == guard.scrub(text, spare=spare)
        assert guard.scrub_result(text, spare) is guard.scrub_result(text, spare)
