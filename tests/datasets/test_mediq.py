"""MediQ records: atomic facts, the first sentence for the doctor, answer and answer_idx."""

import pytest

from clinic_env.datasets import load_dataset
from clinic_env.datasets.convert.mediq import answer_kind
from clinic_env.datasets.convert.people import parse_age
from clinic_env.datasets.convert.rules import conversion_rules
from clinic_env.evaluators.scoring import diagnosis_rank
from clinic_env.language.matcher import DiagnosisMatcher
from tests.helpers.datasets import CRAFTMD, MEDIQ, MEDIQ_MEDQA


@pytest.fixture(scope="module")
def loaded():
    return load_dataset(MEDIQ)


def by_id(loaded, case_id):
    return next(case for case in loaded.cases if case.id == case_id)


def test_records_cases_and_defects(loaded):
    assert loaded.format == "mediq"
    assert (loaded.records, len(loaded.cases)) == (11, 10)
    assert loaded.counts() == {
        "label_mismatch": 2,
        "answer_text": 1,
        "empty_case": 1,
        "count_mismatch": 1,
        "duplicate_case": 2,
        "missing_field": 2,
        "leak": 2,  # "his father died of a heart attack": a synonym of the answer (MI)
    }
    (empty,) = [d for d in loaded.defects if d.kind == "empty_case"]
    assert (empty.case_id, empty.line, empty.skipped) == ("mediq-13", 4, True)


def test_facts_brief_options_and_answer(loaded):
    case = by_id(loaded, "mediq-10")
    assert case.source.record_id == "10"
    assert case.facts[0].text == "The patient is a 25-year-old man."
    assert len(case.facts) == 6
    assert {f.category for f in case.facts} >= {"family", "presenting_complaint"}
    assert case.doctor_brief == (
        "A 25-year-old man presents with itchy scaly plaques on his elbows and knees for six "
        "months. Which of the following is the most likely diagnosis?"
    )
    assert case.options == {
        "A": "Plaque psoriasis",
        "B": "Atopic eczema",
        "C": "Tinea corporis",
        "D": "Lichen planus",
    }
    assert (case.ground_truth.answer_option, case.ground_truth.diagnosis) == (
        "A",
        "Plaque psoriasis",
    )
    assert case.specialty == "Dermatology"
    assert (case.demographics.age_years, case.demographics.sex) == (25, "male")


def test_disagreeing_labels_keep_answer_idx(loaded):
    case = by_id(loaded, "mediq-11")
    assert (case.ground_truth.answer_option, case.ground_truth.diagnosis) == (
        "C",
        "Viral pharyngitis",
    )
    assert case.ground_truth.aliases == ()


def test_a_slightly_different_answer_text_is_accepted_too(loaded):
    case = by_id(loaded, "mediq-12")
    assert case.ground_truth.aliases == ("Hereditary hemorrhagic telangiectasia",)
    matcher = DiagnosisMatcher.from_content()
    assert diagnosis_rank(case, ["Hereditary hemorrhagic telangiectasia"], matcher) == 1
    assert diagnosis_rank(case, ["B"], matcher, options_shown=True) == 1


def test_missing_facts_list_options_and_no_letter(loaded):
    case = by_id(loaded, "mediq-16")
    assert case.facts[0].text.startswith("A 33-year-old woman presents")
    assert case.options["B"] == "Tinea corporis"
    assert case.ground_truth.answer_option == "B"


def test_infants_and_repeated_ids(loaded):
    infant = by_id(loaded, "mediq-18")
    assert infant.demographics.age_years == pytest.approx(0.5)
    assert (infant.demographics.sex, infant.caregiver) == ("female", "mother")
    assert by_id(loaded, "mediq-10-line10").ground_truth.diagnosis == "Shingles"


def test_answer_outside_the_options(loaded):
    case = by_id(loaded, "mediq-19")
    assert case.ground_truth.diagnosis == "Donovanosis"
    assert case.ground_truth.answer_option is None


# ------------------------------------------------------------------ issue 14: MediQ answers
@pytest.fixture(scope="module")
def medqa():
    return load_dataset(MEDIQ_MEDQA)


def test_an_answer_of_arrows_is_loaded_verbatim(medqa):
    assert not [d for d in medqa.defects if d.skipped]
    case = by_id(medqa, "mediq_medqa-373")
    assert case.options == {"A": "↓ ↓ ↑ ↓", "B": "↓ ↑ ↑ ↓", "C": "↑ ↓ ↑ ↑", "D": "Normal ↓ ↑ ↓"}
    assert (case.ground_truth.diagnosis, case.ground_truth.answer_option) == ("↓ ↓ ↑ ↓", "A")


def test_options_differing_only_by_a_minus_sign_stay_apart(medqa):
    case = by_id(medqa, "mediq_medqa-848")
    assert case.options == {"A": "-0.45", "B": "0.45", "C": "0", "D": "-1.80"}
    assert (case.ground_truth.diagnosis, case.ground_truth.answer_option) == ("-0.45", "A")
    assert case.ground_truth.aliases == ()


def test_an_option_is_kept_as_written_even_when_it_sounds_like_a_refusal(medqa):
    case = by_id(medqa, "mediq_medqa-903")
    assert case.ground_truth.diagnosis == (
        '"I am unable to share that information without her consent."'
    )


def test_a_context_value_the_facts_leave_out_is_kept(medqa):
    texts = [f.text for f in by_id(medqa, "mediq_medqa-900").facts]
    assert "Her temperature is 39.4°C and her serum sodium is 128 mEq/L." in texts


@pytest.mark.parametrize(
    ("case_id", "kind"),
    [
        ("mediq_medqa-373", "value"),
        ("mediq_medqa-848", "value"),
        ("mediq_medqa-900", "treatment"),
        ("mediq_medqa-901", "mechanism"),
        ("mediq_medqa-902", "diagnosis"),
        ("mediq_medqa-903", "other"),
    ],
)
def test_each_answer_has_its_kind(medqa, case_id, kind):
    assert by_id(medqa, case_id).ground_truth.answer_kind == kind


def test_craftmd_answers_are_diagnoses():
    cases = load_dataset(CRAFTMD).cases
    assert [c.ground_truth.answer_kind for c in cases] == ["diagnosis", "diagnosis"]
    assert cases[1].caregiver == "mother"


@pytest.mark.parametrize(
    ("question", "answer", "kind"),
    [
        ("Which of the following is the most likely diagnosis?", "Gout", "diagnosis"),
        ("What is the most likely diagnosis?", "Intrinsic apoptotic pathway", "diagnosis"),
        ("Which of the following is the most likely causal organism?", "E. coli", "diagnosis"),
        (
            "Which of the following is the most appropriate next step in management?",
            "Hemodialysis",
            "treatment",
        ),
        ("What is the best initial treatment?", "Vancomycin", "treatment"),
        (
            "Which of the following is the most appropriate next step in diagnosis?",
            "Obtain a CT scan",
            "other",
        ),
        ("What is the mechanism of action of methyldopa?", "Alpha-2 agonism", "mechanism"),
        (
            "Which of the following is the most likely cause of this patient's symptoms?",
            "Adverse effect of lisinopril",
            "other",
        ),
        (
            "Which of the following is the most likely cause of this patient's symptoms?",
            "Atrial fibrillation",
            "diagnosis",
        ),
        (
            "Which of the following is closest to the probability of an affected son?",
            "25%",
            "value",
        ),
        ("Which of the following findings is most likely?", "15;17", "value"),
        (
            "Further evaluation is most likely to show which of the following?",
            "Hexagonal crystals",
            "other",
        ),
    ],
)
def test_answer_kind_rules(question, answer, kind):
    assert answer_kind(question, answer, conversion_rules()) == kind


def test_a_gestational_age_is_no_age_after_birth():
    assert parse_age("Baby (gestational age of 31 weeks)", loose=True) == 0
    assert parse_age("8 months", loose=True) == pytest.approx(8 / 12)
    assert parse_age("She later had a baby boy.") is None, "a baby in the story is not the patient"
