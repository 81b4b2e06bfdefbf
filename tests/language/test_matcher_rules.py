"""Tests for the matcher's word rules: spelling, plurals, lists, typos, organisms."""

from __future__ import annotations

import pytest

from clinic_env.language.matcher_rules import (
    is_negated,
    normal_words,
    organism_disease,
    respell,
    singular,
    split_list,
    stem,
    typo_pair,
)


@pytest.mark.parametrize(
    ("british", "american"),
    [
        ("haemorrhage", "hemorrhage"),
        ("anaemia", "anemia"),
        ("oesophagus", "esophagus"),
        ("diarrhoea", "diarrhea"),
        ("tumour", "tumor"),
        ("behaviour", "behavior"),
        ("generalised", "generalized"),
        ("paralyse", "paralyze"),
        ("immunisation", "immunization"),
        ("centre", "center"),
        ("fibre", "fiber"),
        ("leucocytosis", "leukocytosis"),
        ("sulphonamide", "sulfonamide"),
        ("analogue", "analog"),
    ],
)
def test_british_spellings_meet_american_ones(british: str, american: str) -> None:
    assert respell(british) == respell(american)


@pytest.mark.parametrize("word", ["four", "hour", "disease", "rise", "crisis", "ace"])
def test_words_the_rules_must_leave_alone(word: str) -> None:
    assert respell(word) == word


@pytest.mark.parametrize(
    ("word", "single"),
    [
        ("seizures", "seizure"),
        ("crohns", "crohn"),
        ("bodies", "body"),
        ("sepsis", "sepsis"),
        ("abscess", "abscess"),
        ("tetanus", "tetanus"),
        ("tias", "tia"),
        ("ms", "ms"),
    ],
)
def test_plurals_and_bare_possessives(word: str, single: str) -> None:
    assert singular(word) == single


def test_normal_words_join_type_and_stage_and_read_numerals_and_greek() -> None:
    assert normal_words("Type II diabetes", {}) == ["type2", "diabete"]
    assert normal_words("CKD stage IV", {}) == ["ckd", "stage4"]
    assert normal_words("β-thalassaemia", {}) == ["beta", "thalassemia"]
    assert normal_words("1. Probable Graves' disease", {}) == ["grave", "disease"]


def test_negations() -> None:
    assert is_negated(["no", "pneumonia"])
    assert is_negated(["pneumonia", "ruled", "out"])
    assert is_negated(["doubt", "pneumonia"])
    assert not is_negated(["absence", "seizure"])


def test_lists_split_on_every_separator_but_hedges_keep_their_slash() -> None:
    assert split_list("PE or pneumonia")[0] == ["PE", "pneumonia"]
    assert split_list("PE/pneumonia; gout")[0] == ["PE", "pneumonia", "gout"]
    assert split_list("Diabetes mellitus, type 2") == (["Diabetes mellitus", "type 2"], True)
    assert split_list("r/o PE") == (["r/o PE"], True)


@pytest.mark.parametrize(
    ("a", "b", "slip"),
    [
        ("pnuemonia", "pneumonia", True),
        ("apendicitis", "appendicitis", True),
        ("menigitis", "meningitis", True),
        ("wolf", "wolff", True),
        ("jacob", "jakob", True),
        ("nephrotic", "nephritic", False),
        ("ileus", "ileum", False),
        ("hypothyroidism", "hyperthyroidism", False),
        ("gout", "goat", False),
        ("absess", "abscess", True),
        ("wegner", "wegener", True),
        ("absces", "abscess", True),
        ("abcess", "abscesx", False),
    ],
)
def test_typo_pairs(a: str, b: str, slip: bool) -> None:
    assert typo_pair(a, b, 7) is slip


def test_nouns_and_adjectives_share_a_stem() -> None:
    assert stem("aorta") == stem("aortic")
    assert stem("patella") == stem("patellar")
    assert stem("uterus") == stem("uterine")
    assert stem("ileus") != stem("ileal")


def test_diseases_named_after_their_genus() -> None:
    assert organism_disease("toxoplasma", "toxoplasmosis")
    assert organism_disease("giardia", "giardiasis")
    assert organism_disease("brucella", "brucellosis")
    assert not organism_disease("toxoplasma", "histoplasmosis")
    assert not organism_disease("candida", "candy")


def test_a_cause_phrase_reads_as_by() -> None:
    assert normal_words("neuropathy due to diabetes", {}) == ["neuropathy", "by", "diabete"]
    assert normal_words("anaemia secondary to chronic kidney disease", {})[1] == "by"
    assert normal_words("metastases from breast cancer", {})[1] == "by"
    # "to" keeps its order elsewhere, and a phrase at the end is left alone
    assert normal_words("left to right shunt", {}) == ["left", "to", "right", "shunt"]
    assert normal_words("secondary to", {}) == ["secondary", "to"]
