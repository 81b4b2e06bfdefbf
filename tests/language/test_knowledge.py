"""The knowledge layer: catalogue integrity, the strict test-name resolver, exam manoeuvres."""

import pytest

from clinic_env.errors import ContentError
from clinic_env.language import knowledge
from clinic_env.language.knowledge import NameResolver
from clinic_env.schema.knowledge import NameRules
from tests.helpers.cases import write_yaml

KEYS_SHARED_ON_PURPOSE = {
    frozenset({"dat"}),  # "DAT" and the stem of "dating scan": both resolve as written
    frozenset({"pregnancy"}),  # "pregnancy test" (urine) and "serum pregnancy test" (blood)
}


def entries() -> list:
    return list(knowledge.test_catalog().values())


def test_every_name_and_alias_resolves_to_its_own_entry():
    resolver = knowledge.test_resolver()
    wrong = [
        (name, entry.name, resolver.resolve(name))
        for entry in entries()
        for name in (entry.name, *entry.aliases)
        if resolver.resolve(name) != entry.name
    ]
    assert not wrong


def variants(name: str) -> list[str]:
    """The ways a doctor might write a catalogue name differently."""
    words = name.split()
    return [
        " ".join(reversed(words)),
        name.upper(),
        f"urgent {name}",
        f"serum {name}",
        f"{name} please",
        f"repeat {name} test",
        f"left {name}",
        f"{name}s",
        *(" ".join(words[:i] + words[i + 1 :]) for i in range(len(words)) if len(words) > 1),
    ]


def test_variants_of_a_name_reach_its_entry_or_nothing_never_another_test():
    """Word order, case, plurals, filler words and a missing word never move a name to a test
    of another kind or organ: it reaches its own entry, or the room does not recognise it.
    (Dropping a word can leave another entry's own name, "CT head" from "CT head angiogram":
    that is the doctor naming that test, not a loose match.)"""
    resolver = knowledge.test_resolver()
    catalog = knowledge.test_catalog()
    own_keys = {
        entry.name: {resolver.key(n) for n in (entry.name, *entry.aliases)} for entry in entries()
    }
    strays = [
        (variant, entry.name, reached, catalog[reached].kind)
        for entry in entries()
        for name in (entry.name, *entry.aliases)
        for variant in variants(name)
        if (reached := resolver.resolve(variant)) not in (None, entry.name)
        and resolver.key(variant) not in own_keys[reached]
    ]
    assert not strays, strays[:20]


def test_no_two_entries_share_a_name_key_except_where_stated():
    resolver = knowledge.test_resolver()
    owners: dict[frozenset[str], set[str]] = {}
    for entry in entries():
        for name in (entry.name, *entry.aliases):
            owners.setdefault(resolver.key(name), set()).add(entry.name)
    shared = {key for key, names in owners.items() if key and len(names) > 1}
    assert shared == KEYS_SHARED_ON_PURPOSE


def test_a_shared_key_resolves_to_nothing_rather_than_one_of_them():
    assert knowledge.test_resolver().resolve("pregnancy tests") is None


def test_panels_list_entries_and_components_know_their_panels():
    catalog = knowledge.test_catalog()
    for entry in entries():
        assert set(entry.components) <= set(catalog)
    assert "Urea and electrolytes" in knowledge.panels_holding("Serum chloride")
    assert "Liver function tests" in knowledge.panels_holding("Gamma-glutamyl transferase")
    assert knowledge.panels_holding("Chest X-ray") == ()
    assert " ggt " in knowledge.report_terms("Gamma-glutamyl transferase")


def test_every_supporting_test_of_the_knowledge_base_is_a_catalogue_entry():
    catalog = knowledge.test_catalog()
    missing = {
        (disease.name, test.test)
        for disease in knowledge.diseases()
        for test in disease.tests
        if test.test not in catalog
    }
    assert not missing


def test_a_catalogue_naming_one_alias_twice_or_an_unknown_component_is_refused(tmp_path):
    base = {"kind": "laboratory", "cost_usd": 1, "turnaround_hours": 1}
    twice = write_yaml(
        tmp_path / "twice.yaml",
        {
            "tests": [
                {"name": "Alpha", "aliases": ["shared name"], **base},
                {"name": "Beta", "aliases": ["Shared-Name"], **base},
            ]
        },
    )
    with pytest.raises(ContentError, match=r"twice\.yaml.*Shared-Name.*Beta.*Alpha"):
        knowledge.load_test_catalog(twice)
    unknown = write_yaml(
        tmp_path / "unknown.yaml",
        {"tests": [{"name": "Panel", "components": ["Nothing"], **base}]},
    )
    with pytest.raises(ContentError, match=r"unknown\.yaml.*Panel.*Nothing"):
        knowledge.load_test_catalog(unknown)


def test_an_exam_manoeuvre_naming_an_unknown_test_is_refused(tmp_path):
    path = write_yaml(
        tmp_path / "exams.yaml",
        {
            "systems": [{"name": "skin"}],
            "manoeuvres": [{"name": "Magic sign", "test": "Magic test"}],
        },
    )
    with pytest.raises(ContentError, match=r"exams\.yaml.*Magic sign.*Magic test"):
        knowledge.load_exam_catalog(path)


RULES = NameRules(
    ignored=("serum", "level", "scan"),
    modifiers=("left", "right"),
    distinctive=("thyroid", "knee", "x", "ray", "ct", "head"),
    word_forms={"xray": "x ray"},
)


@pytest.fixture
def strict() -> NameResolver:
    return NameResolver(
        [
            ("Serum sodium", ["sodium"]),
            ("Knee X-ray", ["knee radiograph"]),
            ("Thyroid uptake scan", ["thyroid scan"]),
            ("CT head", ["CT brain"]),
            ("CT head angiogram", []),
            ("Alpha test", ["shared words"]),
            ("Beta test", ["words shared"]),
        ],
        RULES,
    )


@pytest.mark.parametrize(
    ("name", "entry"),
    [
        ("sodium level", "Serum sodium"),
        ("xray knee", "Knee X-ray"),
        ("left knee x-ray", "Knee X-ray"),
        ("thyroid scan", "Thyroid uptake scan"),
        ("CT head", "CT head"),
        ("head CT", "CT head"),
    ],
)
def test_strict_names_resolve_through_order_ignored_words_forms_and_modifiers(strict, name, entry):
    assert strict.resolve(name) == entry


@pytest.mark.parametrize(
    "name",
    [
        "thyroid",  # a bare site once "scan" is ignored: no one test
        "thyroid level",
        "CT angiogram",  # not "CT head angiogram": a missing word is not tolerated
        "knee",
        "CT head sodium",  # an extra word that is not a modifier
    ],
)
def test_strict_names_that_are_vague_or_differ_resolve_to_nothing(strict, name):
    assert strict.resolve(name) is None


def test_a_key_two_entries_share_resolves_only_as_written(strict):
    assert strict.resolve("shared words") == "Alpha test"
    assert strict.resolve("words shared") == "Beta test"
    assert strict.resolve("shared word") is None


def test_loose_resolution_without_rules_keeps_the_first_best_match():
    diseases = NameResolver([("Gout", ["gouty arthritis"]), ("Septic arthritis", [])])
    assert diseases.resolve("arthritis gouty") == "Gout"
    assert diseases.resolve("acute septic arthritis") == "Septic arthritis"
    assert diseases.resolve("arthritis") is None


def test_manoeuvres_are_found_in_requests_and_taken_out_of_them():
    named, rest = knowledge.manoeuvres_in("visual fields and the eyes")
    assert [m.name for m in named] == ["Visual fields"]
    assert knowledge.exam_systems_in(rest) == ("eyes",)
    assert knowledge.manoeuvres_in("abdomen")[0] == ()
    assert knowledge.manoeuvre_for_test("Dix-Hallpike test").name == "Dix-Hallpike manoeuvre"
    assert knowledge.manoeuvre_for_test("Chest X-ray") is None
    assert all(
        m.test in knowledge.test_catalog() for m in knowledge.exam_catalog().manoeuvres if m.test
    )


def test_exam_systems_of_a_converted_record_key_are_unchanged_by_manoeuvres():
    """Converters file findings by the systems a key names; a manoeuvre in the key does not
    take its system away."""
    assert knowledge.exam_systems_in("Fundoscopy") == ("eyes",)
    assert knowledge.exam_systems_in("Visual fields") == ("eyes",)


def test_every_recognised_test_costs_money_and_time():
    """A recognised test is charged whether or not the record holds it, so no order probes
    the record for free."""
    free = [t.name for t in entries() if t.cost_usd <= 0 or t.turnaround_hours <= 0]
    assert not free
