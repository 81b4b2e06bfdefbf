"""AgentClinic OSCE records: free nesting, mixed types, empty and broken records."""

import json
from pathlib import Path

import pytest

from clinic_env.datasets import load_dataset
from clinic_env.language import knowledge
from tests.helpers.datasets import MEDQA, MEDQA_EXT, MIMICIV, OSCE


@pytest.fixture(scope="module")
def loaded():
    return load_dataset(OSCE)


def by_id(loaded, case_id):
    return next(case for case in loaded.cases if case.id == case_id)


def test_every_record_is_read_and_the_bad_ones_are_reported(loaded):
    assert OSCE.read_bytes()[-1:] != b"\n", "the fixture keeps the real files' missing newline"
    assert loaded.format == "agentclinic"
    assert loaded.records == 9
    assert [case.id for case in loaded.cases] == [
        "agentclinic_osce-1",
        "agentclinic_osce-2",
        "agentclinic_osce-3",
        "agentclinic_osce-7",
        "agentclinic_osce-10",
    ]
    assert loaded.counts() == {
        "leak": 3,
        "missing_field": 2,
        "empty_case": 1,
        "duplicate_case": 1,
        "invalid_record": 2,
    }
    skipped = {(d.line, d.kind) for d in loaded.defects if d.skipped}
    assert skipped == {
        (4, "empty_case"),
        (5, "missing_field"),
        (8, "invalid_record"),
        (9, "invalid_record"),
    }


def test_source_names_dataset_version_and_line(loaded):
    case = by_id(loaded, "agentclinic_osce-10")
    assert case.source.dataset == "agentclinic_osce"
    assert case.source.line == 10
    assert len(case.source.version) == 12


def test_history_becomes_categorised_atomic_facts(loaded):
    gout = by_id(loaded, "agentclinic_osce-1")
    categories = {fact.text: fact.category for fact in gout.facts}
    assert categories["Painful swollen right big toe"] == "presenting_complaint"
    assert categories["Redness over the joint"] == "history_of_present_illness"
    assert categories["Works as a lorry driver."] == "social"
    assert categories["Denies fever, rash or recent injury."] == "review_of_systems"
    assert "The pain in my right big toe started suddenly overnight." in categories
    assert gout.opening_statement == "I have come in because of painful swollen right big toe."
    assert gout.doctor_brief.startswith("Assess a man with a hot, swollen big toe")


def test_mixed_types_are_read_whatever_their_shape(loaded):
    case = by_id(loaded, "agentclinic_osce-2")
    assert (case.demographics.age_years, case.demographics.sex) == (67, "female")
    texts = {fact.text: fact.category for fact in case.facts}
    assert texts["Occupation: Retired postal worker"] == "social"
    assert texts["Past medical history: Type 2 diabetes"] == "past_history"
    assert texts["Current medications: Metformin"] == "medications"
    assert texts["Allergies: Penicillin (rash)"] == "allergies"
    assert texts["Her brother had a heart attack at sixty."] == "family"
    assert not any("Alcohol" in text for text in texts), "a null value is no fact"
    assert case.doctor_brief == "A 67-year-old woman comes to see you."
    assert case.ground_truth.aliases == ("Community-acquired pneumonia", "CAP")


def test_exam_keys_map_to_known_body_systems(loaded):
    known = {system.name for system in knowledge.exam_catalog().systems}
    for case in loaded.cases:
        assert {finding.system for finding in case.exam} <= known, case.id
    exam = {(f.system, f.name): f.finding for f in by_id(loaded, "agentclinic_osce-2").exam}
    assert exam[("respiratory", "lungs")].startswith("Bronchial breathing")
    assert exam[("cardiovascular", "heart")] == "Tachycardic, no murmurs"
    assert exam[("skin", "skin")] == "Warm, no rash"
    assert exam[("abdomen", "abdomen")] == "Soft, non-tender"
    assert exam[("general", "appearance")] == "Flushed and breathless"
    assert exam[("vital signs", "temperature")] == "38.6"
    assert exam[("neurological", "motor")] == "Power: Upper limbs: 5/5; Lower limbs: 5/5"
    assert not any(name in {"special tests", "palpation"} for _, name in exam), "empty or N/A"
    gout = {(f.system, f.name) for f in by_id(loaded, "agentclinic_osce-1").exam}
    assert ("musculoskeletal", "right first MTP joint") in gout
    assert ("general", "examination") in {
        (f.system, f.name) for f in by_id(loaded, "agentclinic_osce-10").exam
    }


def test_every_result_is_a_test_of_its_own_in_its_group(loaded):
    tests = {test.name: test for test in by_id(loaded, "agentclinic_osce-2").tests}
    assert {name: test.group for name, test in tests.items()} == {
        "Chest X-Ray": "Imaging",
        "CT chest": "Imaging",
        "ECG": None,
        "Echocardiogram": None,
        "Troponin": None,
        "Legionella": "Urinary antigens",
        "Pneumococcal": "Urinary antigens",
    }
    assert tests["Echocardiogram"].result == "Ejection fraction 55%; No valve disease"
    assert tests["Troponin"].result == "0.01"
    assert (tests["Legionella"].result, tests["Pneumococcal"].result) == ("no", "yes")
    assert tests["ECG"].cost_usd == knowledge.test_catalog()["Electrocardiogram"].cost_usd
    gout = {test.name: test for test in by_id(loaded, "agentclinic_osce-1").tests}
    blood = ["Serum uric acid", "Hemoglobin", "WBC", "Platelets", "CRP"]
    assert [(name, gout[name].group) for name in blood] == [(n, "Blood tests") for n in blood]
    assert [gout[name].result for name in blood] == [
        "9.4 mg/dL",
        "14.2 g/dL",
        "11,800 /uL",
        "250,000 /uL",
        "31",
    ]
    assert gout["Hemoglobin"].aliases == ()
    blood_count = knowledge.test_catalog()["Complete blood count"].cost_usd
    assert gout["Platelets"].cost_usd == blood_count, "priced by the catalogue test it names"
    unnamed = by_id(loaded, "agentclinic_osce-10").tests[0]
    assert (unnamed.name, unnamed.cost_usd, unnamed.turnaround_hours) == ("Test results", 50, 24)


def test_small_children_speak_through_the_parent_the_record_names(loaded):
    infant = by_id(loaded, "agentclinic_osce-3")
    assert infant.demographics.age_years == pytest.approx(0.75)
    assert (infant.informant, infant.caregiver) == ("caregiver", "mother")


def test_a_list_of_diagnoses_gives_aliases(loaded):
    truth = by_id(loaded, "agentclinic_osce-10").ground_truth
    assert truth.diagnosis == "Iron deficiency anaemia"
    assert truth.aliases == ("Iron-deficiency anemia",)


def test_deeply_nested_and_odd_values(tmp_path: Path):
    record = {
        "OSCE_Examination": {
            "Patient_Actor": {
                "Demographics": None,
                "History": [{"Onset": "Two days ago"}, ["Worse at night", 3, None]],
                "Symptoms": {"Primary_Symptom": ["Headache", "Nausea"]},
            },
            "Physical_Examination_Findings": {"Examination": {"Eyes": {"Pupils": {"Left": 3}}}},
            "Test_Results": {"Labs": {"Panel": {"Inner": {"Deep": [1.5, True]}}}},
            "Correct_Diagnosis": {"name": "Migraine"},
        }
    }
    path = tmp_path / "odd.jsonl"
    path.write_text(json.dumps(record))
    loaded = load_dataset(path, format="agentclinic")
    (case,) = loaded.cases
    assert case.ground_truth.diagnosis == "Migraine"
    assert case.opening_statement == "I have come in because of headache."
    assert ("eyes", "pupils") in {(f.system, f.name) for f in case.exam}
    assert [(t.name, t.group, t.result) for t in case.tests] == [("Deep", "Inner", "1.5; yes")]
    assert {d.kind for d in loaded.defects} == {"missing_field"}


# --------------------------------------------------------------- issue 14: recorded results
@pytest.fixture(scope="module")
def medqa():
    return {case.ground_truth.diagnosis: case for case in load_dataset(MEDQA).cases}


PYELONEPHRITIS = "Acute pyelonephritis with acute kidney injury"


@pytest.mark.parametrize(
    ("diagnosis", "name", "group", "value"),
    [
        ("Rubella", "Rubella IgM", "Infectious disease testing", "Positive"),
        (PYELONEPHRITIS, "Urea", "Serum laboratory values", "Elevated"),
        (PYELONEPHRITIS, "Creatinine", "Serum laboratory values", "Elevated"),
        (PYELONEPHRITIS, "Leukocyturia", "Urinalysis", "Present"),
        ("Chronic hepatitis B infection", "HBsAg", "Hepatitis B serology", "positive"),
        ("Insulinoma", "Blood glucose", "Bedside tests", "41 mg/dL"),
        (
            "Behavioural variant frontotemporal dementia",
            "MRI brain",
            "Brain imaging",
            "Bilateral frontotemporal atrophy, more marked on the right",
        ),
        (PYELONEPHRITIS, "Base excess", "Arterial blood gas", "-5 mmol/L"),
        (PYELONEPHRITIS, "Lactate", "Arterial blood gas", "3.1 mmol/L ↑"),
        (
            "Insulinoma",
            "CT abdomen",
            "Imaging",
            "1.4 cm enhancing lesion in the pancreatic tail; Likely a neuroendocrine tumour",
        ),
    ],
    ids=[
        "rubella-igm-positive",
        "urea-elevated",
        "creatinine-elevated",
        "leukocyturia-present",
        "hbsag-positive",
        "blood-glucose-41",
        "mri-brain-atrophy",
        "base-excess-minus-5",
        "lactate-arrow",
        "ct-findings-and-impression",
    ],
)
def test_a_recorded_result_is_a_test_with_its_own_name_group_and_value(
    medqa, diagnosis, name, group, value
):
    (test,) = [t for t in medqa[diagnosis].tests if t.name == name]
    assert (test.group, test.result) == (group, value)


def test_a_group_holds_every_test_recorded_under_it(medqa):
    tests = medqa["Chronic hepatitis B infection"].tests
    serology = [(t.name, t.result) for t in tests if t.group == "Hepatitis B serology"]
    assert serology == [
        ("HBsAg", "positive"),
        ("Anti-HBc IgM", "negative"),
        ("Anti-HBc IgG", "positive"),
        ("HBeAg", "negative"),
    ]
    assert "Hepatitis B serology" not in {t.name for t in tests}


def test_a_placeholder_result_is_no_test(medqa):
    names = {t.name for t in medqa[PYELONEPHRITIS].tests}
    assert "Sodium" not in names and "Potassium" in names


def test_exam_values_keep_their_signs_and_special_tests_stay_general(medqa):
    exam = {(f.system, f.name): f.finding for f in medqa["Insulinoma"].exam}
    assert exam[("neurological", "reflexes")] == "Biceps: 2+; Plantar: Flexor bilaterally"
    urosepsis = {(f.system, f.name): f.finding for f in medqa[PYELONEPHRITIS].exam}
    assert urosepsis[("general", "murphy sign")] == "Negative", "'tests' is not 'testes'"
    assert urosepsis[("abdomen", "bowel sounds")] == "Present"


def test_extended_records_keep_deep_groups_and_trim_remarks():
    (hpt, pad) = load_dataset(MEDQA_EXT).cases
    tests = {t.name: t for t in hpt.tests}
    assert (tests["Calcium"].group, tests["Calcium"].result) == ("Serum", "2.85 mmol/L ↑")
    assert (tests["WBCs"].group, tests["WBCs"].result) == ("Urine", "0–5/hpf")
    assert tests["Parathyroid hormone"].result == "Elevated"
    assert "Vitamin D" not in tests
    assert not any("endocrine surgery" in f.text for f in hpt.facts), "a plan is no fact"
    assert {t.name: t.result for t in pad.tests if t.group == "Ankle brachial index"} == {
        "Left": "0.45",
        "Right": "0.98",
    }
    assert pad.ground_truth.aliases == ("Intermittent claudication",)


def test_mimic_records_read_like_medqa():
    (ischaemia, ketoacidosis) = load_dataset(MIMICIV).cases
    assert {t.name: t.result for t in ketoacidosis.tests}["Base excess"] == "-19 mmol/L"
    names = {t.name for t in ischaemia.tests}
    assert names == {"Hemoglobin", "Lactate", "INR", "CT abdomen angiography"}
