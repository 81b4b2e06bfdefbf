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
    Verdict,
    load_synonym_table,
)
from clinic_env.language.matcher_table import QualifierClass


@pytest.fixture(scope="module")
def matcher() -> DiagnosisMatcher:
    return DiagnosisMatcher.from_content()


# The bundled file ---------------------------------------------------------------------------


def test_bundled_table_loads_with_enough_content() -> None:
    table = load_synonym_table()
    assert len(table.synonyms) >= 120
    assert table.spelling["calculi"] == "calculus"
    classes = {q.name: q for q in table.qualifiers}
    assert {"course", "site", "cause", "acquisition", "laterality"} <= set(classes)
    assert "acute" in table.harmless and classes["laterality"].exclusive


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
        (
            "qualifiers: [{name: a, words: [acute]}, {name: b, words: [acute]}]\n"
            "synonyms: [[x y, z]]\n",
            "twice",
        ),
        (
            "qualifiers: [{name: a, words: [acute]}]\nharmless: [acute]\n"
            "synonyms: [[acute, sudden]]\n",
            "no words",
        ),
        ("harmless: [acute]\nsynonyms: [[x y, z]]\n", "in no qualifier class"),
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
        ("Type II diabetes", "type2 diabete"),
        ("Diabetes mellitus type 2", "diabete mellitus type2"),
        ("β-thalassaemia major", "beta thalassemia major"),
        ("Generalised tumours", "generalized tumor"),
        (
            "Oesophageal carcinoma in a paediatric centre",
            "esophageal carcinoma in a pediatric center",
        ),
        ("E. coli sepsis", "coli sepsis"),
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
        ("Hepatitis B", "Hepatitis C"),
        ("Left ventricular failure", "Right ventricular failure"),
        ("Left bundle branch block", "Bilateral bundle branch block"),
        ("Myocardial infarction", "Myocarditis"),
        ("NSTEMI", "STEMI"),
        ("Cushing disease", "Cushing syndrome"),
        ("Hodgkin lymphoma", "Non-Hodgkin lymphoma"),
        ("Hyperthyroidism", "Hypothyroidism"),
        ("Diabetes insipidus", "Diabetes mellitus"),
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


def test_an_ambiguous_short_name_does_not_match_either_meaning(matcher: DiagnosisMatcher) -> None:
    assert not matcher.matches("Cushing", "Cushing syndrome")
    assert not matcher.matches("Cushing", "Cushing disease")


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
        spelling={"gizmo": "widget"},
        qualifiers=(
            QualifierClass(name="course", words=("acute", "chronic")),
            QualifierClass(name="noun", words=("disease", "syndrome")),
        ),
        harmless=("acute", "disease", "syndrome"),
        synonyms=(("widget fever", "WF"), ("color blindness", "daltonism")),
    )
    matcher = DiagnosisMatcher(table)
    assert matcher.matches("WF", "acute widget fever")
    assert matcher.matches("Gizmo fever", "WF")
    assert matcher.matches("Colour blindness", "Daltonism")
    assert matcher.matches("Chronic widget fever", "WF")
    assert not matcher.matches("WF", "Chronic widget fever")
    assert not matcher.matches("Chronic widget fever", "Acute widget fever")
    assert not matcher.matches("WF", "Daltonism")
    assert matcher.canonical("acute WF") == "widget fever"
    assert matcher.canonical("gadget fever") is None


def test_canonical_names_the_group(matcher: DiagnosisMatcher) -> None:
    assert matcher.canonical("heart attack") == "myocardial infarction"
    assert matcher.canonical("Probable DKA") == "diabetic ketoacidosis"
    assert matcher.canonical("not DKA") is None


# Rules rather than lists -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("predicted", "truth"),
    [
        # spelling by rule: nobody listed these words
        ("Waldenström macroglobulinaemia", "Waldenstrom macroglobulinemia"),
        ("Oesophageal candidiasis", "Esophageal candidiasis"),
        ("Haemophagocytic lymphohistiocytosis", "Hemophagocytic lymphohistiocytosis"),
        ("Generalised anxiety disorder", "Generalized anxiety disorder"),
        ("Tumour lysis syndrome", "Tumor lysis syndrome"),
        ("Paralysed diaphragm", "Paralyzed diaphragm"),
        # hyphens, spaces, possessives, plurals
        ("Epididymo-orchitis", "Epididymoorchitis"),
        ("Heat stroke", "Heatstroke"),
        ("Addisons disease", "Addison's disease"),
        ("Gallstones", "Gallstone"),
        # Greek letters and Roman numerals
        ("β-thalassaemia major", "Beta thalassemia major"),
        ("Mobitz type II block", "Mobitz type 2 block"),
        # word order, "X of the Y", nouns and their adjectives
        ("Posterior dislocation of the hip", "Posterior hip dislocation"),
        ("Cancer of the pancreas", "Pancreatic cancer"),
        ("Tetralogy of Fallot", "Fallot tetralogy"),
        ("Diabetes mellitus, type 2", "Type 2 diabetes mellitus"),
        # misspellings of long words
        ("Pnuemonia", "Pneumonia"),
        ("Steven-Johnson syndrome", "Stevens-Johnson syndrome"),
        ("Guillian-Barre syndrome", "Guillain-Barre syndrome"),
    ],
)
def test_rules_match_variants_in_both_directions(
    matcher: DiagnosisMatcher, predicted: str, truth: str
) -> None:
    assert matcher.matches(predicted, truth)
    assert matcher.matches(truth, predicted)


@pytest.mark.parametrize(
    ("specific", "general"),
    [
        ("Pulmonary tuberculosis", "Tuberculosis"),
        ("Community-acquired pneumonia", "Pneumonia"),
        ("Right lower lobe pneumonia", "Pneumonia"),
        ("Cellulitis of the left leg", "Cellulitis"),
        ("Drug-induced acute interstitial nephritis", "Acute interstitial nephritis"),
        ("Bacterial meningitis", "Meningitis"),
        ("Acute decompensated heart failure", "Heart failure"),
        ("Type 1 diabetes mellitus", "Diabetes mellitus"),
        ("Chronic pancreatitis", "Pancreatitis"),
        ("Migraine with aura", "Migraine"),
        ("CKD stage 4", "Chronic kidney disease"),
    ],
)
def test_a_more_specific_prediction_matches_but_never_the_reverse(
    matcher: DiagnosisMatcher, specific: str, general: str
) -> None:
    assert matcher.verdict(specific, general) is Verdict.SAME
    assert matcher.verdict(general, specific) is not Verdict.SAME


@pytest.mark.parametrize(
    ("predicted", "truth"),
    [
        ("Right heart failure", "Left heart failure"),
        ("Type 1 diabetes mellitus", "Type 2 diabetes mellitus"),
        ("Secondary hyperparathyroidism", "Primary hyperparathyroidism"),
        ("Hospital-acquired pneumonia", "Community-acquired pneumonia"),
        ("Viral meningitis", "Bacterial meningitis"),
        ("Chronic myeloid leukaemia", "Acute myeloid leukaemia"),
        ("Pulmonary hypertension", "Hypertension"),
        ("Portal hypertension", "Hypertension"),
        ("Periorbital cellulitis", "Orbital cellulitis"),
        ("Non-Hodgkin lymphoma", "Hodgkin lymphoma"),
        ("Latent tuberculosis", "Tuberculosis"),
        ("Threatened miscarriage", "Miscarriage"),
        ("Hyperthyroidism", "Hypothyroidism"),
        ("Hypothyroidsm", "Hyperthyroidism"),
        ("Ileum", "Ileus"),
        ("Nephritic syndrome", "Nephrotic syndrome"),
        ("Dysphasia", "Dysphagia"),
        ("Arteritis", "Arthritis"),
        ("Eosinophilic granulomatosis with polyangiitis", "Granulomatosis with polyangiitis"),
        ("Paget disease of the breast", "Paget disease of bone"),
        ("Bronchiolitis obliterans", "Bronchiolitis"),
        ("Haemophilus influenzae infection", "Influenza"),
        ("Left and right pneumothorax", "Pneumothorax"),
    ],
)
def test_named_opposites_and_look_alikes_never_match(
    matcher: DiagnosisMatcher, predicted: str, truth: str
) -> None:
    assert not matcher.matches(predicted, truth)


@pytest.mark.parametrize(
    ("predicted", "truth"),
    [
        ("Hansen's disease", "Leprosy"),
        ("Pick's disease", "Frontotemporal dementia"),
        ("Osteitis deformans", "Paget disease of bone"),
        ("Toxoplasma gondii infection", "Toxoplasmosis"),
        ("Giardia lamblia infection", "Giardiasis"),
        ("Parvovirus B19 infection", "Erythema infectiosum"),
        ("C. difficile colitis", "Clostridioides difficile infection"),
        ("Klebsiella pneumoniae pneumonia", "Pneumonia"),
        ("LGV", "Lymphogranuloma venereum"),
        ("SJS", "Stevens-Johnson syndrome"),
        ("PML", "Progressive multifocal leukoencephalopathy"),
    ],
)
def test_eponyms_organisms_and_abbreviations(
    matcher: DiagnosisMatcher, predicted: str, truth: str
) -> None:
    assert matcher.matches(predicted, truth)


def test_initials_alone_are_left_to_a_judge() -> None:
    table = SynonymTable(synonyms=(("widget fever", "gadget fever"),))
    matcher = DiagnosisMatcher(table)
    assert matcher.verdict("QZR", "Quixotic zebra rash") is Verdict.UNSURE
    assert not matcher.matches("QZR", "Quixotic zebra rash")


def test_an_unknown_added_word_is_unsure_and_a_known_unrelated_name_is_different(
    matcher: DiagnosisMatcher,
) -> None:
    assert matcher.verdict("Zorblax pneumonia", "Pneumonia") is Verdict.UNSURE
    assert matcher.verdict("Pneumonia", "Zorblax pneumonia") is Verdict.DIFFERENT
    assert matcher.verdict("Gout", "Pneumonia") is Verdict.DIFFERENT


# Reward integrity: what a policy probing the matcher might try -----------------------------


@pytest.mark.parametrize(
    "entry",
    [
        "Pneumonia or pulmonary embolism",
        "Pulmonary embolism or pneumonia",
        "Pneumonia, pulmonary embolism and pneumothorax",
        "Pneumonia/PE",
        "PE vs pneumonia",
        "Pneumonia; pulmonary embolism",
        "Pneumonia and/or pulmonary embolism",
        "Pneumonia + pulmonary embolism",
        "Pulmonary embolism, pneumonia",
    ],
)
def test_an_entry_listing_several_diseases_matches_none_of_them(
    matcher: DiagnosisMatcher, entry: str
) -> None:
    assert not matcher.matches(entry, "Pneumonia")
    assert not matcher.matches(entry, "Pulmonary embolism", ("PE",))


def test_names_with_and_or_commas_are_still_one_disease(matcher: DiagnosisMatcher) -> None:
    assert matcher.matches("Hand, foot and mouth disease", "Hand-foot-and-mouth disease")
    assert matcher.matches("Head and neck cancer", "Head and neck cancer")


def test_huge_or_repeated_entries_never_match(matcher: DiagnosisMatcher) -> None:
    names = ["Pneumonia", "Pulmonary embolism", "Pneumothorax", "Pericarditis", "Gout"]
    every = " ".join(names * 4)
    assert not matcher.matches(every, "Pneumonia")
    assert not matcher.matches("pneumonia " * 40, "Pneumonia")
    assert not matcher.matches("Pneumonia pneumonia", "Pneumonia")
    assert not matcher.matches("x" * 5000 + " pneumonia", "Pneumonia")
    assert not matcher.matches(", ".join(names), "Gout")


@pytest.mark.parametrize(
    "entry",
    [
        "Infection",
        "Disease",
        "Syndrome",
        "Cancer",
        "Malignancy",
        "Bacterial infection",
        "Viral illness",
        "A condition I cannot name",
        "Unknown",
        "Probably",
        "Something",
    ],
)
def test_generic_or_hedge_only_entries_never_match_a_specific_reference(
    matcher: DiagnosisMatcher, entry: str
) -> None:
    for truth in ("Community-acquired pneumonia", "Lung cancer", "Kawasaki disease", "Sepsis"):
        assert not matcher.matches(entry, truth)


@pytest.mark.parametrize(
    "entry",
    [
        "No appendicitis",
        "Appendicitis ruled out",
        "Not appendicitis",
        "Appendicitis excluded",
        "Appendicitis unlikely",
        "Appendicitis absent",
        "Doubt appendicitis",
    ],
)
def test_negations_never_match(matcher: DiagnosisMatcher, entry: str) -> None:
    assert matcher.verdict(entry, "Acute appendicitis") is Verdict.DIFFERENT


def test_an_answer_space_sweep_gains_nothing(matcher: DiagnosisMatcher) -> None:
    """A policy that knows the answer space but not the answer, and lists it all in one
    entry, by any separator, is never scored correct."""
    space = ["Appendicitis", "Cholecystitis", "Pancreatitis", "Diverticulitis", "Gastritis"]
    for separator in (", ", " or ", " / ", "; ", " and ", " vs "):
        entry = separator.join(space)
        assert not any(matcher.matches(entry, truth) for truth in space)
