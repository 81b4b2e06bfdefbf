"""Tests for the offline diagnosis matcher and its bundled synonyms file."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinic_env.content import content_path
from clinic_env.errors import ContentError
from clinic_env.language.matcher import (
    BUNDLED_SYNONYMS,
    DiagnosisMatcher,
    SynonymTable,
    load_synonym_table,
)


@pytest.fixture(scope="module")
def matcher() -> DiagnosisMatcher:
    return DiagnosisMatcher.from_content()


# The bundled file ---------------------------------------------------------------------------


def test_bundled_table_loads_with_enough_content() -> None:
    table = load_synonym_table()
    assert len(table.synonyms) >= 120
    assert len(table.spelling) >= 40
    assert table.spelling["haemorrhage"] == "hemorrhage"
    assert ("acute",) in table.qualifiers


def test_no_name_belongs_to_two_groups(matcher: DiagnosisMatcher) -> None:
    owner: dict[str, int] = {}
    clashes = []
    for index, names in enumerate(load_synonym_table().synonyms):
        for name in names:
            text = matcher.normalize(name)
            if text in owner and owner[text] != index:
                clashes.append((name, owner[text], index))
            owner[text] = index
    assert clashes == []


def test_from_content_is_cached() -> None:
    assert DiagnosisMatcher.from_content() is DiagnosisMatcher.from_content()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "diagnoses.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("synonyms:\n  - [heart attack]\n", "at least 2"),
        ("synonyms:\n  - [MI, heart attack]\nunknown: 1\n", "unknown"),
        ("synonyms:\n  - [MI, heart attack]\n  - [mi, mitral incompetence]\n", "same name"),
        ("synonyms:\n  - [Crohn's disease, Crohn disease]\n", "same name"),
        ("spelling: {anaemia: anaemic, anaemic: anemic}\nsynonyms: [[a b, c d]]\n", "itself"),
        ("qualifiers: [[acute], [acute]]\nsynonyms: [[x y, z]]\n", "twice"),
        ("qualifiers: [[acute]]\nsynonyms: [[acute, sudden]]\n", "no words"),
        ("synonyms:\n  - [no pneumonia, pneumonia]\n", "negated"),
        ("synonyms: [[a, b]\n", "invalid YAML"),
    ],
)
def test_bad_synonyms_file_names_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ContentError) as caught:
        load_synonym_table(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_bundled_path_is_the_content_file() -> None:
    assert content_path(*BUNDLED_SYNONYMS).is_file()


# Normalisation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("1. Acute appendicitis.", "acute appendicitis"),
        ("2) Pneumonia", "pneumonia"),
        ("(a) Pneumonia", "pneumonia"),
        ("- Pneumonia;", "pneumonia"),
        ("Most likely: Guillain–Barré syndrome", "guillain barre syndrome"),
        ("Probable acute appendicitis", "acute appendicitis"),
        ("Suspected subarachnoid haemorrhage", "subarachnoid hemorrhage"),
        ("r/o PE", "pe"),
        ("Rule out pulmonary embolism", "pulmonary embolism"),
        ("?Pulmonary embolism", "pulmonary embolism"),
        ("Diagnosis: pneumonia (likely)", "pneumonia"),
        ("Crohn's disease", "crohn disease"),
        ("Crohns disease", "crohn disease"),
        ("Type II diabetes", "type 2 diabetes"),
        ("E. coli sepsis", "e coli sepsis"),
        ("No pulmonary embolism", "no pulmonary embolism"),
        ("Lymphoma, not otherwise specified", "lymphoma nos"),
        ("Likely", ""),
    ],
)
def test_normalize(matcher: DiagnosisMatcher, text: str, normal: str) -> None:
    assert matcher.normalize(text) == normal


# Positive matches ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("predicted", "truth"),
    [
        # accents and case
        ("Guillain–Barré syndrome", "guillain barre syndrome"),
        ("MÉNIÈRE'S DISEASE", "Meniere disease"),
        # possessives
        ("Crohn's disease", "Crohns disease"),
        ("Crohns disease", "Crohn disease"),
        ("Graves disease", "Graves' disease"),
        ("Grave's disease", "Graves disease"),
        ("Bells palsy", "Bell's palsy"),
        # synonyms and abbreviations from the table
        ("Heart attack", "Myocardial infarction"),
        ("DKA", "Diabetic ketoacidosis"),
        ("STEMI", "ST-elevation myocardial infarction"),
        ("ST elevation MI", "STEMI"),
        ("Shingles", "Herpes zoster"),
        ("Basedow disease", "Graves disease"),
        ("CRAO", "Central retinal artery occlusion"),
        ("SLE", "Lupus"),
        ("Idiopathic thrombocytopenic purpura", "ITP"),
        ("BPPV", "Benign paroxysmal positional vertigo"),
        ("GBS", "Acute inflammatory demyelinating polyneuropathy"),
        ("T2DM", "Type II diabetes mellitus"),
        ("Type 2 diabetes", "Diabetes mellitus type 2"),
        ("Non-Hodgkin lymphoma", "NHL"),
        # British / American spelling
        ("Subarachnoid haemorrhage", "subarachnoid hemorrhage"),
        ("Iron deficiency anaemia", "IDA"),
        ("Coeliac disease", "Celiac disease"),
        ("Acute myeloid leukaemia", "AML"),
        ("Ischaemic stroke", "Cerebral infarction"),
        # hedges and list markers
        ("Probable acute appendicitis", "Acute appendicitis"),
        ("1. Most likely pulmonary embolism", "Pulmonary embolism"),
        ("Suspected DKA", "Diabetic ketoacidosis"),
        ("r/o PE", "Pulmonary embolism"),
        ("Diagnosis: shingles.", "Herpes zoster"),
        # harmless qualifiers
        ("Appendicitis", "Acute appendicitis"),
        ("Acute pancreatitis", "Pancreatitis"),
        ("Graves", "Graves disease"),
        ("Sjogren", "Sjogren syndrome"),
        ("Acute MI", "Heart attack"),
        ("Right-sided pneumothorax", "Pneumothorax"),
        ("Diabetes mellitus", "Diabetes"),
        ("Lymphoma, not otherwise specified", "Lymphoma"),
        ("Uncomplicated urinary tract infection", "UTI"),
        # a name with its abbreviation in parentheses
        ("Pulmonary embolism (PE)", "PE"),
        ("Diabetic ketoacidosis (DKA)", "Diabetic ketoacidosis"),
        ("Chronic obstructive pulmonary disease (COPD)", "Chronic obstructive pulmonary disease"),
    ],
)
def test_matches(matcher: DiagnosisMatcher, predicted: str, truth: str) -> None:
    assert matcher.matches(predicted, truth)
    assert matcher.matches(truth, predicted)


def test_case_aliases_are_matched(matcher: DiagnosisMatcher) -> None:
    aliases = ("Kikuchi disease", "histiocytic necrotizing lymphadenitis")
    assert matcher.matches("Kikuchi's disease", "Kikuchi-Fujimoto disease", aliases)
    assert matcher.matches("Histiocytic necrotising lymphadenitis", "Kikuchi-Fujimoto", aliases)
    assert not matcher.matches("Kimura disease", "Kikuchi-Fujimoto disease", aliases)


# Near misses, which must not match ----------------------------------------------------------


@pytest.mark.parametrize(
    ("predicted", "truth"),
    [
        ("Pemphigus foliaceus", "Pemphigus vulgaris"),
        ("CRVO", "Central retinal artery occlusion"),
        ("Type 1 diabetes", "Type 2 diabetes"),
        ("Acute pancreatitis", "Chronic pancreatitis"),
        ("Pancreatitis", "Chronic pancreatitis"),
        ("Hepatitis B", "Hepatitis C"),
        ("Left ventricular failure", "Right ventricular failure"),
        ("Left bundle branch block", "Bilateral bundle branch block"),
        ("Myocardial infarction", "Myocarditis"),
        ("NSTEMI", "STEMI"),
        ("Cushing disease", "Cushing syndrome"),
        ("Cushing", "Cushing syndrome"),
        ("Hodgkin lymphoma", "Non-Hodgkin lymphoma"),
        ("Hyperthyroidism", "Hypothyroidism"),
        ("Diabetes insipidus", "Diabetes mellitus"),
        ("Diabetes", "Type 1 diabetes"),
        ("Ulcerative colitis", "Crohn disease"),
        ("Atrial fibrillation", "Atrial flutter"),
        ("Ventricular tachycardia", "Supraventricular tachycardia"),
        ("Hyperkalaemia", "Hypokalemia"),
        ("Bacterial meningitis", "Viral meningitis"),
        ("Sickle cell trait", "Sickle cell disease"),
        ("Primary hyperparathyroidism", "Secondary hyperparathyroidism"),
        ("Type A aortic dissection", "Type B aortic dissection"),
        ("Acute respiratory distress syndrome", "Respiratory distress syndrome"),
        ("Chronic myeloid leukaemia", "Acute myeloid leukemia"),
        ("Herpes simplex", "Herpes zoster"),
        ("Pneumonitis", "Pneumonia"),
        ("Open-angle glaucoma", "Angle-closure glaucoma"),
        ("Right to left shunt", "Left to right shunt"),
        ("Hives", "HIV"),
        ("Q fever", "Fever"),
        ("Pancreatitis (chronic)", "Acute pancreatitis"),
        ("Pulmonary embolism or pneumonia", "Pulmonary embolism"),
    ],
)
def test_near_misses_do_not_match(matcher: DiagnosisMatcher, predicted: str, truth: str) -> None:
    assert not matcher.matches(predicted, truth)
    assert not matcher.matches(truth, predicted)


@pytest.mark.parametrize(
    "predicted",
    [
        "No pulmonary embolism",
        "Not PE",
        "Probably not PE",
        "PE ruled out",
        "PE excluded",
        "Unlikely PE",
        "PE unlikely",
        "Negative for pulmonary embolism",
        "No evidence of pulmonary embolism",
        "History of pulmonary embolism",
        "Previous PE",
        "Pulmonary embolism (ruled out)",
        "Without pulmonary embolism",
    ],
)
def test_negated_statements_do_not_match(matcher: DiagnosisMatcher, predicted: str) -> None:
    assert not matcher.matches(predicted, "Pulmonary embolism", ("PE",))


def test_empty_and_hedge_only_text_never_matches(matcher: DiagnosisMatcher) -> None:
    assert not matcher.matches("", "")
    assert not matcher.matches("Likely", "Likely")
    assert not matcher.matches("  ", "Pneumonia")


# rank() -------------------------------------------------------------------------------------


def test_rank_returns_first_matching_position(matcher: DiagnosisMatcher) -> None:
    differential = ["1. Pneumothorax", "2. Probable PE", "3. Pulmonary embolism"]
    assert matcher.rank(differential, "Pulmonary embolism") == 2


def test_rank_uses_aliases(matcher: DiagnosisMatcher) -> None:
    differential = ["Pneumonia", "Kikuchi disease"]
    assert matcher.rank(differential, "Kikuchi-Fujimoto disease", ("Kikuchi disease",)) == 2


def test_rank_skips_negated_entries(matcher: DiagnosisMatcher) -> None:
    differential = ["PE ruled out", "Pneumonia", "Pulmonary embolism"]
    assert matcher.rank(differential, "PE") == 3


def test_rank_is_none_without_a_match(matcher: DiagnosisMatcher) -> None:
    assert matcher.rank(["Pneumonia", "Pericarditis"], "Pulmonary embolism") is None
    assert matcher.rank([], "Pulmonary embolism") is None


# A table given in code ----------------------------------------------------------------------


def test_matcher_from_an_in_memory_table() -> None:
    table = SynonymTable(
        spelling={"colour": "color"},
        qualifiers=(("acute",), ("disease", "syndrome")),
        synonyms=(("widget fever", "WF"), ("color blindness", "daltonism")),
    )
    matcher = DiagnosisMatcher(table)
    assert matcher.matches("WF", "acute widget fever")
    assert matcher.matches("Colour blindness", "Daltonism")
    assert not matcher.matches("WF", "Daltonism")
    assert matcher.canonical("acute WF") == "widget fever"
    assert matcher.canonical("gadget fever") is None


def test_canonical_names_the_group(matcher: DiagnosisMatcher) -> None:
    assert matcher.canonical("heart attack") == "myocardial infarction"
    assert matcher.canonical("Probable DKA") == "diabetic ketoacidosis"
    assert matcher.canonical("not DKA") is None
