import pytest

from clinic_env.evaluators.scoring import diagnosis_rank
from clinic_env.language.knowledge import diseases
from clinic_env.language.matcher import DiagnosisMatcher
from clinic_env.schema.case import Case
from clinic_env.validation import case_alias_issues, knowledge_alias_issues
from clinic_env.validation.aliases import KNOWLEDGE, alias_issues
from tests.helpers.cases import MINIMAL_CASE, minimal_case

# Correct names the 2026-12 clinical review found rejected, and names it asked to accept.
ACCEPTED = [
    ("resp-002", "pneumothorax"),
    ("resp-002", "right pneumothorax"),
    ("obgyn-002", "severe pre-eclampsia"),
    ("endo-003", "adrenal crisis"),
    ("endo-003", "Addisonian crisis"),
    ("neuro-002", "aneurysmal SAH"),
    ("neuro-002", "ruptured berry aneurysm"),
    ("neuro-002", "ruptured cerebral aneurysm"),
    ("psych-001", "major depressive episode"),
    ("psych-001", "severe depressive episode"),
    ("ophth-002", "acute angle closure"),
    ("ophth-002", "acute narrow-angle glaucoma"),
    ("cardio-001", "anterior MI"),
    ("cardio-001", "anterior myocardial infarction"),
    ("cardio-003", "Stanford type A dissection"),
    ("ent-001", "benign paroxysmal positioning vertigo"),
    ("psych-002", "panic disorder with agoraphobia"),
    ("rheum-003", "Horton's arteritis"),
    ("derm-002", "drug-induced bullous pemphigoid"),
    ("haem-002", "primary immune thrombocytopenia"),
    ("derm-001", "mucocutaneous pemphigus vulgaris"),
    ("id-001", "mononucleosis"),
]

# Wider or different names no alias of the case may accept (what the matcher makes of the
# diagnosis's own name is the matcher's business).
REJECTED = [
    ("endo-002", "hyperthyroidism"),
    ("endo-002", "thyrotoxicosis"),
    ("haem-001", "microcytic anaemia"),
    ("ophth-001", "branch retinal artery occlusion"),
    ("cardio-001", "myocardial infarction"),
    ("psych-002", "panic attacks"),
    ("derm-001", "pemphigus"),
    ("resp-002", "tension pneumothorax"),
]

# Knowledge-base aliases the review found naming another or a wider disease.
REMOVED = [
    ("Schizophrenia", "psychosis"),
    ("Graves' disease", "hyperthyroidism"),
    ("Central retinal artery occlusion", "branch retinal artery occlusion"),
    ("Iron deficiency anaemia", "microcytic anaemia"),
    ("Guillain–Barré syndrome", "Miller Fisher syndrome"),
    ("Polycystic ovary syndrome", "polycystic ovaries"),
    ("Parkinson's disease", "parkinsonism"),
    ("Empyema", "parapneumonic effusion"),
    ("Croup", "spasmodic croup"),
    ("Addison's disease", "adrenal insufficiency"),
]


def by_id(cases: tuple[Case, ...], case_id: str) -> Case:
    return next(case for case in cases if case.id == case_id)


def accepts(case: Case, name: str) -> bool:
    truth = case.ground_truth
    return DiagnosisMatcher.from_content().matches(name, truth.diagnosis, truth.aliases)


@pytest.mark.parametrize(("case_id", "name"), ACCEPTED)
def test_cases_accept_the_common_correct_names(bundled, case_id, name):
    assert accepts(by_id(bundled, case_id), name)


@pytest.mark.parametrize(("case_id", "name"), REJECTED)
def test_no_case_alias_accepts_a_wider_or_other_name(bundled, case_id, name):
    """Scored as the answer it is: a wider name or another disease earns nothing (an answer
    naming one of the case's differentials is that differential, whatever alias it passes)."""
    matcher = DiagnosisMatcher.from_content()
    assert diagnosis_rank(by_id(bundled, case_id), [name], matcher) is None


@pytest.mark.parametrize(("disease", "alias"), REMOVED)
def test_knowledge_base_no_longer_lists_wider_aliases(disease, alias):
    entry = next(d for d in diseases() if d.name == disease)
    normalize = DiagnosisMatcher.from_content().normalize
    assert normalize(alias) not in {normalize(a) for a in entry.aliases}


def test_knowledge_base_aliases_name_one_disease_each():
    assert knowledge_alias_issues() == []


def test_every_bundled_case_alias_names_its_own_disease_only(bundled):
    issues = [issue for case in bundled for issue in case_alias_issues(case)]
    assert issues == [], "\n".join(map(str, issues))


@pytest.mark.parametrize(
    ("alias", "why"),
    [
        ("psychosis", "not the name of one disease"),
        ("Septic arthritis", "a name of Septic arthritis"),
        ("arthritis", "is broader than Gout: Septic arthritis"),
    ],
)
def test_a_case_alias_naming_a_category_another_disease_or_a_differential_is_flagged(alias, why):
    truth = {**MINIMAL_CASE["ground_truth"], "aliases": [alias]}
    issues = case_alias_issues(minimal_case(ground_truth=truth))
    assert any(why in issue.message for issue in issues), issues


def test_a_broader_alias_is_flagged_with_the_disease_it_also_covers():
    issues = alias_issues(KNOWLEDGE, ("Acute myeloid leukaemia",), [("aliases", "leukaemia")])
    assert any("Acute lymphoblastic leukaemia" in issue.message for issue in issues)


def test_a_knowledge_alias_may_not_name_a_complication_but_a_case_may():
    where = [("aliases", "perforated appendicitis")]
    assert alias_issues(KNOWLEDGE, ("Acute appendicitis",), where)
    assert not alias_issues("case-x", ("Acute appendicitis",), where)


def test_an_alias_accepted_for_one_case_is_not_accepted_for_another():
    where = [("aliases", "adrenal crisis")]
    assert not alias_issues("endo-003", ("Addison's disease",), where)
    assert alias_issues("endo-999", ("Addison's disease",), where)
