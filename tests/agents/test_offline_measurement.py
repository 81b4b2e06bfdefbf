"""The offline room and laboratory: what the record holds is found, nothing is falsely normal,
and no reply depends on the case except through the case's own data."""

import asyncio
import functools
import random
import re

import pytest

from clinic_env.agents.offline_measurement import OfflineMeasurement, make_offline_measurement
from clinic_env.content import content_files, content_path, load_yaml_model
from clinic_env.language import knowledge
from clinic_env.language.leak import LeakGuard
from clinic_env.protocol.texts import protocol_texts
from clinic_env.schema import Action, ActionKind
from clinic_env.schema.case import Case
from tests.helpers.cases import minimal_case

UNRECOGNISED_START = "Test request: not a test the laboratory recognises"


@functools.cache
def starter_cases() -> tuple[Case, ...]:
    """The bundled cases, read directly (the loading layer is not under test here)."""
    folder = content_path("cases", "starter")
    return tuple(load_yaml_model(path, Case) for path in content_files(folder, (".yaml",)))


def order(room: OfflineMeasurement, text: str):
    return room.lookup(Action(kind=ActionKind.ORDER_TEST, text=text))


def examine(room: OfflineMeasurement, text: str):
    return room.lookup(Action(kind=ActionKind.EXAMINE, text=text))


def make_room(case: Case, **options) -> OfflineMeasurement:
    return OfflineMeasurement(case.measurement_view(), random.Random(0), **options)


@pytest.fixture
def room() -> OfflineMeasurement:
    return make_room(minimal_case())


# ------------------------------------------------------------------------ names and policy
@pytest.mark.parametrize("name", ["CBC", "complete blood count", "Full Blood Count", "FBC"])
def test_test_synonyms_find_the_case_result(room, name):
    result = order(room, name)
    assert result.found
    assert "11.2" in result.text
    assert result.cost_usd == 30 and result.turnaround_hours == 1


def test_an_unrecorded_test_is_unavailable_at_the_catalogue_price_never_normal(room):
    result = order(room, "TSH")
    listed = knowledge.test_catalog()["Thyroid function tests"]
    assert not result.found
    assert "normal" not in result.text.lower() and "no result" in result.text
    assert (result.cost_usd, result.turnaround_hours) == (
        listed.cost_usd,
        listed.turnaround_hours,
    )
    assert result.spared == ("Thyroid function tests",) and result.spared[0] in result.text


def test_the_normal_policy_keeps_agentclinic_convention_at_the_same_price(room):
    normal = order(make_room(minimal_case(), unrecorded="normal"), "TSH")
    unavailable = order(room, "TSH")
    assert "normal readings" in normal.text and not normal.found
    assert (normal.cost_usd, normal.turnaround_hours, normal.spared) == (
        unavailable.cost_usd,
        unavailable.turnaround_hours,
        unavailable.spared,
    )
    # a recorded test is never "normal", whatever the policy
    assert "11.2" in order(make_room(minimal_case(), unrecorded="normal"), "CBC").text


def test_an_unknown_policy_is_refused_and_the_registered_factory_keeps_its_signature():
    with pytest.raises(ValueError, match="unrecorded"):
        make_room(minimal_case(), unrecorded="absent")
    made = make_offline_measurement(minimal_case().measurement_view(), random.Random(0))
    assert made.unrecorded == "unavailable"


@pytest.mark.parametrize(
    "name", ["quantum aura scan", "Gout", "gouty arthritis", "Septic arthritis", "x", "POCUS"]
)
def test_unrecognised_names_get_one_free_reply_that_never_repeats_them(room, name):
    result = order(room, name)
    assert result.text == protocol_texts().test_unrecognised
    assert result.text.startswith(UNRECOGNISED_START)
    assert (result.found, result.cost_usd, result.turnaround_hours, result.spared) == (
        False,
        0,
        0,
        (),
    )


def test_the_spared_catalogue_name_survives_the_guard_on_every_case_alike():
    """A test named like the diagnosis ("HIV test" on an HIV case) comes back the same way on
    every case: its name is spared, so the guard cannot mark the true diagnosis."""
    hiv = minimal_case(ground_truth={"diagnosis": "HIV infection", "aliases": ["HIV"]})
    guard = LeakGuard(["HIV infection", "HIV"], "[withheld]")

    def seen(case: Case) -> str:
        result = order(make_room(case), "HIV test")
        text = result.text
        for number, phrase in enumerate(result.spared):
            text = text.replace(phrase, f"\x00{number}\x00")
        text, _ = guard.scrub(text)
        for number, phrase in enumerate(result.spared):
            text = text.replace(f"\x00{number}\x00", phrase)
        return text

    assert seen(hiv) == seen(minimal_case()) and "HIV test" in seen(hiv)


# ----------------------------------------------------------------------------- exams
@pytest.mark.parametrize("request_text", ["knee", "musculoskeletal", "joints", "the joints please"])
def test_exam_by_system_or_body_part(room, request_text):
    result = examine(room, request_text)
    assert "Hot, red, swollen" in result.text


def test_full_exam_unrecorded_system_and_unrecognised_request(room):
    full = examine(room, "full physical")
    assert "Hot, red" in full.text and "Temperature" in full.text
    abdomen = asyncio.run(room.measure(Action(kind=ActionKind.EXAMINE, text="abdomen")))
    assert not abdomen.found and "no findings" in abdomen.text and "normal" not in abdomen.text
    assert abdomen.spared == ("abdomen",)
    normal = examine(make_room(minimal_case(), unrecorded="normal"), "abdomen")
    assert "no abnormality found" in normal.text
    nonsense = examine(room, "aura")
    assert not nonsense.found and "not an examination" in nonsense.text
    assert "aura" not in nonsense.text and nonsense.text == examine(room, "Gout").text


BEDSIDE_CASE = {
    "exam": [
        {
            "system": "vital signs",
            "name": "observations",
            "finding": "Heart rate 104/min, blood pressure 96/60 mmHg lying and 78/50 mmHg "
            "standing, oxygen saturation 91% on room air, temperature 37.1 C.",
        },
        {"system": "skin", "name": "Nikolsky sign", "finding": "Positive: the epidermis shears."},
        {"system": "eyes", "name": "fundoscopy", "finding": "Cherry-red spot at the fovea."},
        {"system": "neurological", "name": "gait", "finding": "Romberg test negative."},
    ],
}


@pytest.mark.parametrize(
    ("test", "entry", "holds"),
    [
        ("Nikolsky sign", "Nikolsky sign", "epidermis shears"),
        ("pulse oximetry", "Pulse oximetry", "oxygen saturation 91% on room air"),
        ("SpO2", "Pulse oximetry", "oxygen saturation 91% on room air"),
        ("postural blood pressure", "Lying and standing blood pressure", "78/50 mmHg standing"),
        ("dilated fundus examination", "Dilated fundus examination", "Cherry-red spot"),
        ("fundoscopy", "Dilated fundus examination", "Cherry-red spot"),
    ],
)
def test_a_bedside_sign_ordered_as_a_test_is_answered_from_the_exam(test, entry, holds):
    result = order(make_room(minimal_case(**BEDSIDE_CASE)), test)
    listed = knowledge.test_catalog()[entry]
    assert result.found and holds in result.text
    assert "normal" not in result.text.lower().replace("abnormal", "")
    assert entry in result.spared and result.cost_usd == listed.cost_usd


def test_a_sign_the_exam_lacks_is_unavailable_not_normal():
    result = order(make_room(minimal_case(**BEDSIDE_CASE)), "Dix-Hallpike test")
    assert not result.found and "no result" in result.text


@pytest.mark.parametrize(
    ("request_text", "holds", "absent"),
    [
        ("Nikolsky", "epidermis shears", "Cherry-red"),
        ("oxygen saturation", "91%", "104/min"),
        ("visual fields", "no findings", "Cherry-red"),
        ("Romberg", "Romberg test negative", "91%"),
        ("Dix-Hallpike", "no findings", "Romberg"),
    ],
)
def test_a_manoeuvre_is_an_exam_request_answered_by_its_findings_alone(request_text, holds, absent):
    result = examine(make_room(minimal_case(**BEDSIDE_CASE)), request_text)
    assert holds in result.text and absent not in result.text


def test_a_manoeuvre_the_exam_lacks_is_answered_from_its_recorded_test():
    case = minimal_case(
        tests=[
            {
                "name": "Visual field test",
                "result": "Dense right field loss.",
                "cost_usd": 120,
                "turnaround_hours": 0.5,
            }
        ]
    )
    result = examine(make_room(case), "visual fields")
    assert result.found and "Dense right field loss" in result.text and result.cost_usd == 0


# ------------------------------------------------------------------ groups and panels
GROUPED_CASE = {
    "tests": [
        {"name": "Urea", "group": "Serum laboratory values", "result": "Elevated"},
        {"name": "Creatinine", "group": "Serum laboratory values", "result": "Elevated 2.1"},
        {"name": "Blood glucose", "group": "Serum laboratory values", "result": "41 mg/dL"},
        {"name": "Rubella IgM", "group": "Infectious disease testing", "result": "Positive"},
        {
            "name": "Hepatitis B serology",
            "group": "Infectious disease testing",
            "result": "HBsAg positive",
        },
        {"name": "MRI", "group": "Brain imaging", "result": "Frontotemporal atrophy"},
        {"name": "ALT", "group": "Liver panel", "result": "88 U/L"},
        {"name": "AST", "group": "Liver panel", "result": "74 U/L"},
        {"name": "Leukocyturia", "result": "Present"},
    ]
}


def grouped_room() -> OfflineMeasurement:
    tests = [{**t, "cost_usd": 10, "turnaround_hours": 2} for t in GROUPED_CASE["tests"]]
    return make_room(minimal_case(tests=tests))


@pytest.mark.parametrize(
    ("name", "holds"),
    [
        ("Rubella IgM", "Positive"),
        ("Urea", "Elevated"),
        ("BUN", "Elevated"),
        ("Creatinine", "Elevated 2.1"),
        ("Leukocyturia", "Present"),
        ("Hepatitis B serology", "HBsAg positive"),
        ("HBsAg", "HBsAg positive"),
        ("Blood glucose", "41 mg/dL"),
        ("glucose", "41 mg/dL"),
        ("MRI brain", "Frontotemporal atrophy"),
        ("brain MRI", "Frontotemporal atrophy"),
    ],
)
def test_recorded_results_are_found_by_name_synonym_and_word_order(name, holds):
    result = order(grouped_room(), name)
    assert result.found and holds in result.text


@pytest.mark.parametrize(
    ("name", "members"),
    [
        ("Serum laboratory values", ("Urea", "Creatinine", "Blood glucose")),
        ("Serum_Laboratory_Values", ("Urea", "Creatinine", "Blood glucose")),
        ("infectious disease testing", ("Rubella IgM", "Hepatitis B serology")),
        ("Brain imaging", ("MRI",)),
        ("basic metabolic panel", ("Urea", "Creatinine", "Blood glucose")),
        ("U&E", ("Urea", "Creatinine", "Blood glucose")),
        ("LFTs", ("ALT", "AST")),
        ("urinalysis", ("Leukocyturia",)),
    ],
)
def test_a_group_or_panel_request_returns_every_test_it_holds(name, members):
    result = order(grouped_room(), name)
    assert result.found
    for member in members:
        assert f"{member}: " in result.text or f"Test result, {member}:" in result.text
    if len(members) > 1:
        assert result.cost_usd == 10 * len(members) and result.turnaround_hours == 2


PANEL_CASE = {
    "tests": [
        {
            "name": "Basic metabolic panel",
            "result": "Sodium 133 mmol/L, potassium 3.1 mmol/L, chloride 88 mmol/L (98-107), "
            "BUN 22 mg/dL, creatinine 0.4 mg/dL, calcium 8.1 mg/dL.",
            "cost_usd": 35,
            "turnaround_hours": 2,
        },
        {
            "name": "Liver function tests",
            "result": "ALP 160 U/L (44-147); bilirubin, ALT and albumin normal. GGT 310 U/L.",
            "cost_usd": 35,
            "turnaround_hours": 2,
        },
        {
            "name": "Urinalysis",
            "result": "Glucose 4+, ketones 3+, nitrites negative; microscopy shows 80 red "
            "cells per high-power field.",
            "cost_usd": 10,
            "turnaround_hours": 0.1,
        },
    ]
}


@pytest.mark.parametrize(
    ("name", "entry", "clause"),
    [
        ("serum chloride", "Serum chloride", "chloride 88 mmol/L (98-107)"),
        ("potassium", "Serum potassium", "potassium 3.1 mmol/L"),
        ("calcium", "Serum calcium", "calcium 8.1 mg/dL"),
        ("GGT", "Gamma-glutamyl transferase", "GGT 310 U/L"),
        ("albumin", "Serum albumin", "albumin normal"),
        ("urine ketones", "Urine ketones", "ketones 3+"),
        ("urine microscopy", "Urine microscopy", "microscopy shows 80 red cells"),
    ],
)
def test_a_component_ordered_alone_is_answered_from_the_panel_that_holds_it(name, entry, clause):
    result = order(make_room(minimal_case(**PANEL_CASE)), name)
    listed = knowledge.test_catalog()[entry]
    assert result.found and clause in result.text
    assert "sodium" not in result.text.lower() or entry == "Serum sodium"
    assert result.spared == (entry,) and result.cost_usd == listed.cost_usd


def test_a_component_the_panel_does_not_report_is_unavailable():
    result = order(make_room(minimal_case(**PANEL_CASE)), "magnesium")
    assert not result.found and "no result" in result.text


# ---------------------------------------------------------------- the bundled cases
@pytest.mark.parametrize(
    ("case_id", "test", "holds"),
    [
        ("ent-001", "Dix-Hallpike test", "nystagmus"),
        ("derm-001", "Nikolsky sign", "Positive"),
        ("neuro-001", "ice pack test", "ptosis"),
        ("paeds-002", "pulse oximetry", "91%"),
        ("resp-001", "pulse oximetry", "91%"),
        ("endo-003", "lying and standing blood pressure", "standing"),
        ("ophth-001", "dilated fundus examination", "cherry-red"),
        ("gastro-002", "GGT", "310"),
        ("paeds-004", "serum chloride", "88"),
        ("endo-001", "urine ketones", "3+"),
        ("id-001", "CBC with differential", "atypical"),
        ("id-001", "blood film", "atypical"),
        ("endo-003", "blood glucose", "64"),
    ],
)
def test_the_reviewed_false_normals_now_return_what_the_record_says(case_id, test, holds):
    case = next(c for c in starter_cases() if c.id == case_id)
    result = order(make_room(case), test)
    assert result.found and holds in result.text


def test_every_recorded_test_is_found_by_its_name_and_each_alias():
    missed = []
    for case in starter_cases():
        room = make_room(case)
        for test in case.tests:
            for name in (test.name, *test.aliases):
                result = order(room, name)
                if not (result.found and test.result in result.text):
                    missed.append((case.id, name))
    assert not missed


def test_no_bedside_sign_held_in_an_exam_is_contradicted_when_ordered_as_a_test():
    contradicted = []
    for case in starter_cases():
        room = make_room(case)
        for manoeuvre in knowledge.exam_catalog().manoeuvres:
            held = manoeuvre.test and examine(room, manoeuvre.name).found
            if held and not order(room, manoeuvre.test).found:
                contradicted.append((case.id, manoeuvre.test))
    assert not contradicted


def answer_names() -> list[str]:
    """What an exploit doctor knows: the dataset's answers, and names it makes up."""
    names = ["quantum aura scan", "the green test", "zzz", ""]
    for case in starter_cases():
        truth = case.ground_truth
        names += [truth.diagnosis, *truth.aliases, *(d.diagnosis for d in truth.differentials)]
    return names


def probe_names(kind: ActionKind) -> list[str]:
    """Every catalogue name and alias (tests) or every exam word and test name (exams), and
    every answer name, sent through one channel."""
    catalog = knowledge.test_catalog().values()
    if kind is ActionKind.ORDER_TEST:
        names = [n for t in catalog for n in (t.name, *t.aliases)]
    else:
        exams = knowledge.exam_catalog()
        names = [n for s in exams.systems for n in (s.name, *s.aliases)]
        names += [n for m in exams.manoeuvres for n in (m.name, *m.aliases)]
        names += [t.name for t in catalog]
    return list(dict.fromkeys([*names, *answer_names()]))


def template_words() -> set[str]:
    texts = protocol_texts().model_dump()
    fixed = [v for k, v in texts.items() if k.startswith(("test_", "exam_", "images_"))]
    return {w.lower() for w in re.findall(r"[A-Za-z]+", " ".join([*fixed, "min h days"]))}


def case_words(case: Case) -> set[str]:
    parts = [f"{f.system} {f.name} {f.finding}" for f in case.exam]
    parts += [f"{t.name} {' '.join(t.aliases)} {t.group or ''} {t.result}" for t in case.tests]
    return {w.lower() for w in re.findall(r"[A-Za-z]+", " ".join(parts))}


def unspared(text: str, spared: tuple[str, ...]) -> str:
    for phrase in sorted(spared, key=len, reverse=True):
        text = text.replace(phrase, " ")
    return text


def test_replies_depend_on_the_case_only_through_its_recorded_data():
    """Through both channels and for every probe: a reply the record does not answer is the
    same text, price and wait on every case; any reply, once its spared (catalogue or request)
    phrases are taken out, holds only template words and the case's own data. So nothing a
    reply says, and nothing the guard could withhold in it, depends on the diagnosis except
    through what the record holds."""
    fixed = template_words()
    rooms = [(case, make_room(case), case_words(case)) for case in starter_cases()]

    def strays(text: str, spared: tuple[str, ...], allowed: set[str]) -> set[str]:
        words = re.findall(r"[A-Za-z]+", unspared(text, spared))
        return {w for w in words if w.lower() not in allowed}

    for kind in (ActionKind.ORDER_TEST, ActionKind.EXAMINE):
        for probe in probe_names(kind):
            action = Action(kind=kind, text=probe)
            unanswered = set()
            for case, room, own in rooms:
                result = room.lookup(action)
                if result.found:
                    stray = strays(result.text, result.spared, fixed | own)
                    assert not stray, (case.id, kind, probe, stray, result.text)
                else:
                    reply = (result.text, result.cost_usd, result.turnaround_hours, result.spared)
                    unanswered.add(reply)
            assert len(unanswered) <= 1, (kind, probe, unanswered)
            for text, _, _, spared in unanswered:
                assert not strays(text, spared, fixed), (kind, probe, text)


# ---------------------------------------------------------------------------- images
def test_images_when_there_are_none(room):
    result = room.lookup(Action(kind=ActionKind.REQUEST_IMAGES))
    assert not result.found


def test_images_are_listed_by_kind_and_number_never_by_file_name():
    images = [
        {"location": "/data/podagra-first-toe.png", "kind": "photograph"},
        {"location": "https://example.org/cases/gouty-knee.jpg", "kind": "xray"},
    ]
    room = make_room(minimal_case(images=images))
    result = room.lookup(Action(kind=ActionKind.REQUEST_IMAGES))
    assert result.found
    assert "image 1 (photograph); image 2 (xray)" in result.text
    assert "podagra" not in result.text and "gouty" not in result.text


def test_answers_are_kept_per_view_and_policy_and_equal_a_fresh_lookup():
    """Rooms of one view share what they answered; another policy or view answers afresh."""
    view = minimal_case().measurement_view()
    first = OfflineMeasurement(view, random.Random(0))
    again = OfflineMeasurement(view, random.Random(1))
    normal = OfflineMeasurement(view, random.Random(0), unrecorded="normal")
    fresh = OfflineMeasurement(minimal_case().measurement_view(), random.Random(0))
    for text in ("CBC", "TSH", "abdomen", "not a test"):
        kept = order(first, text)
        assert order(again, text) is kept
        assert order(fresh, text) == kept
    assert order(fresh, "CBC") is not order(first, "CBC")
    assert order(normal, "TSH") != order(first, "TSH")
    assert examine(again, "abdomen") is examine(first, "abdomen")
