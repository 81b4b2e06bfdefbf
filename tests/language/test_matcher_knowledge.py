"""Tests for the matcher's curated knowledge (forms, not-forms, organisms, lay names of an
organ's inflammation), values compared exactly, and the over-lenient matches the physician
review rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinic_env.errors import ContentError
from clinic_env.language.matcher import DiagnosisMatcher, Verdict, load_synonym_table
from clinic_env.language.matcher_rules import normal_words, singular
from clinic_env.language.matcher_values import value_key, value_tokens


@pytest.fixture(scope="module")
def matcher() -> DiagnosisMatcher:
    return DiagnosisMatcher.from_content()


# The physician review's rejections --------------------------------------------------------


@pytest.mark.parametrize(
    ("predicted", "truth"),
    [
        ("Miller Fisher syndrome", "Guillain-Barre syndrome"),
        ("Miller-Fisher variant", "Guillain–Barré syndrome"),
        ("panic attacks", "panic disorder"),
        ("panic attack", "Panic disorder [episodic paroxysmal anxiety]"),
        ("polycystic ovaries", "polycystic ovary syndrome"),
        ("multicystic ovaries", "polycystic ovary syndrome"),
        ("polycystic ovary syndrome", "polycystic ovaries"),
        ("adrenal insufficiency", "adrenal crisis"),
        ("secondary adrenal insufficiency", "adrenal crisis"),
    ],
)
def test_a_variant_an_episode_or_a_finding_is_not_the_disease(
    matcher: DiagnosisMatcher, predicted: str, truth: str
) -> None:
    assert matcher.verdict(predicted, truth) is not Verdict.SAME


def test_the_real_names_of_those_diseases_still_match(matcher: DiagnosisMatcher) -> None:
    assert matcher.matches("PCOS", "polycystic ovary syndrome")
    assert matcher.matches("Stein-Leventhal syndrome", "polycystic ovary syndrome")
    assert matcher.matches("Addisonian crisis", "adrenal crisis")
    assert matcher.matches("AIDP", "Guillain-Barre syndrome")
    # the crisis is a form of adrenal insufficiency, so it matches that reference (one way)
    assert matcher.matches("adrenal crisis", "adrenal insufficiency")
    assert not matcher.matches("adrenal insufficiency", "adrenal crisis")


# Values and symbols -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("predicted", "truth", "same"),
    [
        ("-0.45", "-0.45", True),
        ("−0.45", "-0.45", True),
        ("0.45", "-0.45", False),
        ("-0.45", "0.45", False),
        ("↓ ↓ ↑ ↓", "↓ ↓ ↑ ↓", True),
        ("↓↓↑↓", "↓ ↓ ↑ ↓", True),
        ("↓ ↓ ↓ ↓", "↓ ↓ ↑ ↓", False),
        ("2.5 mg", "2.5 mg", True),
        ("2.5mg", "2.5 mg", True),
        ("25 mg", "2.5 mg", False),
        ("2.5 g", "2.5 mg", False),
        ("80/55", "80/55", True),
        ("80/50", "80/55", False),
        ("0.45 or -0.45", "-0.45", False),
    ],
)
def test_values_and_symbols_compare_exactly(
    matcher: DiagnosisMatcher, predicted: str, truth: str, same: bool
) -> None:
    assert (matcher.verdict(predicted, truth) is Verdict.SAME) is same
    assert (matcher.rank(["gout", predicted], truth) == 2) is same


def test_a_name_holding_a_number_is_not_a_value(matcher: DiagnosisMatcher) -> None:
    units = frozenset({"mg"})
    for name in ("Type 2 diabetes", "Trisomy 21", "COVID-19", "22q11.2 deletion syndrome"):
        assert value_key(name, units) is None
    assert matcher.matches("T2DM", "Type 2 diabetes mellitus")
    assert matcher.matches("Down syndrome", "Trisomy 21")
    assert value_tokens("1. -0.45") == ("-0.45",)
    assert value_key("2 mg", units) == ("2", "mg")


# Forms, not-forms and organisms -------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "disease"),
    [
        ("Emphysema", "Chronic obstructive pulmonary disease"),
        ("Duodenal ulcer", "Peptic ulcer disease"),
        ("Septic shock", "Sepsis"),
        ("Anterior STEMI", "Myocardial infarction"),
        ("Tubal pregnancy", "Ectopic pregnancy"),
        ("Torsades de pointes", "Ventricular tachycardia"),
        ("Candida albicans stomatitis", "Oral candidiasis"),
    ],
)
def test_a_named_form_matches_its_disease_one_way(
    matcher: DiagnosisMatcher, form: str, disease: str
) -> None:
    assert matcher.matches(form, disease)
    assert not matcher.matches(disease, form)


@pytest.mark.parametrize(
    ("predicted", "truth"),
    [
        ("Interstitial cystitis", "Cystitis"),
        ("Cardiac asthma", "Asthma"),
        ("Malignant otitis externa", "Otitis externa"),
        ("CMV mononucleosis", "Infectious mononucleosis"),
        ("Secondary parkinsonism", "Parkinson disease"),
    ],
)
def test_a_look_alike_that_is_another_disease_never_matches(
    matcher: DiagnosisMatcher, predicted: str, truth: str
) -> None:
    assert not matcher.matches(predicted, truth)


@pytest.mark.parametrize(
    ("predicted", "truth", "same"),
    [
        ("HHV-6 infection", "Roseola infantum", True),
        ("HHV-6", "Roseola infantum", True),
        ("Treponema pallidum infection", "Syphilis", True),
        ("EBV infection", "Infectious mononucleosis", True),
        ("Tuberculous meningitis", "Tuberculosis", True),
        ("Toxoplasma encephalitis", "Toxoplasmosis", True),
        ("Pneumococcal meningitis", "Bacterial meningitis", True),
        ("Pneumococcal meningitis", "Viral meningitis", False),
        ("RSV", "Bronchiolitis", False),
        ("Primary amoebic meningoencephalitis", "Amoebiasis", False),
    ],
)
def test_a_disease_named_by_its_organism(
    matcher: DiagnosisMatcher, predicted: str, truth: str, same: bool
) -> None:
    assert matcher.matches(predicted, truth) is same


def test_an_organs_inflammation_in_lay_words(matcher: DiagnosisMatcher) -> None:
    assert matcher.matches("inflammation of the liver", "hepatitis")
    assert matcher.matches("inflamed appendix", "acute appendicitis")
    assert matcher.matches("inflammation of the lining of the brain", "meningitis")
    assert not matcher.matches("inflammation", "hepatitis")
    assert not matcher.matches("liver inflammation", "hepatitis A")


# General rules added with the knowledge -----------------------------------------------------


def test_a_harmless_word_that_tells_two_diseases_apart_cannot_drop(
    matcher: DiagnosisMatcher,
) -> None:
    # "acute" is harmless, but "myeloid leukaemia" may be the chronic one
    assert not matcher.matches("Myeloid leukaemia", "Acute myeloid leukaemia")
    assert not matcher.matches("Hepatitis", "Hepatitis A")
    assert matcher.matches("Appendicitis", "Acute appendicitis")
    assert matcher.matches("Sjogren", "Sjogren syndrome")
    assert matcher.matches("Gallstone pancreatitis", "Acute pancreatitis")


def test_an_organs_noun_and_adjective_and_participles_meet(matcher: DiagnosisMatcher) -> None:
    assert matcher.matches("Fistula in ano", "Anal fistula")
    assert matcher.matches("Kidney stones", "Renal calculus")
    assert matcher.matches("Dislocated shoulder", "Shoulder dislocation")
    assert matcher.matches("Ruptured spleen", "Splenic rupture")
    assert not matcher.matches("Small bowel obstruction", "Large bowel obstruction")


def test_plurals_and_initials_by_rule() -> None:
    assert singular("keratoses") == "keratosis"
    assert singular("vasculitides") == "vasculitis"
    assert singular("condylomata") == "condyloma"
    assert singular("doses") == "dose"
    assert normal_words("C.O.P.D.", {}) == ["copd"]
    assert normal_words("r/o PE", {}) == ["pe"]
    assert normal_words("hepatitis A", {}) == ["hepatitis", "a"]


def test_forms_are_validated(tmp_path: Path) -> None:
    bad = tmp_path / "table.yaml"
    bad.write_text("forms:\n  pneumonia: [pneumonia]\nsynonyms:\n  - [gout, podagra]\n")
    with pytest.raises(ContentError, match="forms"):
        load_synonym_table(bad)
    bad.write_text(
        "qualifiers:\n  - {name: x, words: [a1], implies: [zz]}\nsynonyms:\n  - [gout, podagra]\n"
    )
    with pytest.raises(ContentError, match="implied"):
        load_synonym_table(bad)
