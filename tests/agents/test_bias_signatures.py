"""A signature test per bias: its documented behaviour (docs/biases.md) shows, against the same
case and seed without it.

Each patient bias is checked against what its file declares, on a case holding a fact on every
sensitive topic: topics it withholds are told less, and recover with the kinds of rapport it
responds to; its line, its questions asked back and its requests come on their turns; a
cognitive belief comes back on the cues it lists, pushback meets proposals until the patient
yields (or never). Each doctor bias reaches a model doctor's instructions and is shown in an
outside doctor's brief or refused. The seven implicit patient biases are told apart by what
they do on transcripts, not only by their words.
"""

import math
import random

import pytest

from clinic_env.agents.biasing import plan_biases
from clinic_env.agents.offline_patient import OfflinePatient, default_phrases
from clinic_env.agents.personas import biases, load_persona
from clinic_env.errors import ConfigError
from clinic_env.language.facts import build_index
from clinic_env.schema.case import Case
from tests.helpers.cases import MINIMAL_CASE

IMPLICIT = ("gender", "race", "sexual_orientation", "cultural", "education", "religion",
            "socioeconomic")  # fmt: skip
SEEDS = range(40)
FACTS = [
    ("presenting_complaint", "Burning pain in the upper stomach for three weeks."),
    ("history_of_present_illness", "The pain is worse after meals and at night."),
    ("review_of_systems", "No weight loss and no black stools."),
    ("past_history", "High blood pressure for five years."),
    ("medications", "Takes ramipril but often forgets doses."),
    ("medications", "Takes a traditional herbal remedy for the stomach."),
    ("allergies", "Allergic to penicillin."),
    ("social", "Smokes ten cigarettes a day."),
    ("social", "Drinks about twenty units of alcohol a week."),
    ("social", "Uses cannabis at weekends."),
    ("social", "Lost her job as a driver last year."),
    ("social", "Cannot afford the rent and has debts."),
    ("social", "Lives with her wife in a rented flat."),
    ("social", "Has a new sexual partner."),
    ("social", "Uses condoms for contraception."),
    ("review_of_systems", "Periods have become irregular."),
    ("review_of_systems", "Low in mood for some months."),
    ("family", "Mother had a stomach ulcer."),
]
CASE = Case.model_validate(
    {
        **MINIMAL_CASE,
        "id": "signature-001",
        "demographics": {"age_years": 40, "sex": "female", "description": "40-year-old woman"},
        "doctor_brief": "A 40-year-old woman comes in with stomach pain.",
        "opening_statement": "I've had this burning in my stomach for weeks.",
        "facts": [{"category": c, "text": t} for c, t in FACTS],
        "ground_truth": {
            "diagnosis": "Peptic ulcer disease",
            "aliases": ["peptic ulcer"],
            "differentials": [{"diagnosis": "Biliary colic"}, {"diagnosis": "Pancreatitis"}],
        },
    }
)
ASK = {
    "sexual": "Are you sexually active?",
    "contraception": "What contraception do you use?",
    "gynae": "How are your periods?",
    "mood": "How has your mood been?",
    "alcohol": "How much alcohol do you drink?",
    "drugs": "Do you use any recreational drugs?",
    "smoking": "Do you smoke?",
    "adherence": "Do you ever forget to take your tablets?",
    "remedies": "Do you take any herbal remedies or other medicines?",
    "medications": "Do you take any medications?",
    "money": "Are you managing for money?",
    "work": "What do you do for work?",
    "home": "Who do you live with?",
    "relationships": "Who do you live with?",
}
RAPPORT = {  # statements only, so that no reply to them tells a fact
    "empathy": "I'm sorry to hear that, it must be hard.",
    "confidentiality": "Everything you tell me is confidential, and I ask everyone this.",
    "respect": "I respect your beliefs and your values.",
    "cost": "There is no charge for any of this.",
    "explanation": "Let me explain: I ask because it helps me rule out anything serious.",
    "partnership": "We can decide together; it's up to you.",
    "choice": "Would you prefer a chaperone or a colleague? You can stop me at any time.",
    "explanatory_model": "What do you call this illness in your community?",
}
CUES = {
    "ideas": "What do you think is causing this?",
    "concerns": "Is there anything in particular you're worried about?",
    "expectations": "What were you hoping we could do today?",
    "guess": "Is it an infection?",
    "probe": "What do you think it is?",
}
PROPOSAL = "I think this is most likely a viral infection."
OPENING = "What brings you in today?"
FILLER = "Any fever?"


def patient(bias_ids, seed):
    plan = plan_biases(CASE, bias_ids, random.Random(seed))
    agent = OfflinePatient(CASE.patient_view(), load_persona("plain"), random.Random(seed))
    agent.take_biases(plan.for_role("patient"))
    return agent, plan


def play(bias_ids, messages, seed=0):
    agent, _ = patient(bias_ids, seed)
    return [agent.answer(message) for message in messages]


def told_rate(bias_ids, topic, before=()):
    """Share of seeds in which asking about ``topic`` (after ``before``) tells its fact."""
    wanted = {i for i, (_, text) in enumerate(FACTS) if _on(topic, i)}
    hits = 0
    for seed in SEEDS:
        replies = play(bias_ids, [OPENING, *before, ASK[topic]], seed)
        hits += bool(wanted & set(replies[-1].facts))
    return hits / len(SEEDS)


def _on(topic, fact):
    return topic in build_index(CASE.facts).topics[fact]


def lines_of(bias_id):
    _, plan = patient([f"patient:{bias_id}"], 0)
    (use,) = plan.uses
    return use


@pytest.mark.parametrize("bias_id", sorted(biases()))
def test_the_bias_shows_its_documented_behaviour(bias_id):
    bias = biases()[bias_id]
    if "patient" in bias.applies_to:
        check_withholding(bias_id)
        check_lines_on_their_turns(bias_id)
        check_belief(bias_id)
        check_pushback(bias_id)
        check_requests(bias_id)
        check_verbosity(bias_id)
    if "doctor" in bias.applies_to:
        check_doctor(bias_id)


def check_withholding(bias_id):
    rules = biases()[bias_id].offline
    spec = [f"patient:{bias_id}"]
    for topic, shift in rules.withholds.items():
        plain, guarded = told_rate([], topic), told_rate(spec, topic)
        assert guarded <= plain + shift / 2, (topic, plain, guarded)
        if rules.rapport:
            kind = rules.rapport_cues[0]
            eased = told_rate(spec, topic, [RAPPORT[kind]] * math.ceil(1 / rules.rapport))
            assert eased >= guarded + 0.2, (topic, kind, guarded, eased)
            unrelated = next(k for k in RAPPORT if k not in rules.rapport_cues)
            assert told_rate(spec, topic, [RAPPORT[unrelated]] * 3) <= guarded + 0.15


def check_lines_on_their_turns(bias_id):
    rules = biases()[bias_id].offline
    use = lines_of(bias_id)
    script = [OPENING] + [FILLER] * 12
    biased = [r.text for r in play([f"patient:{bias_id}"], script)]
    plain = [r.text for r in play([], script)]
    if use.says:
        assert use.says in biased[rules.voice_turn - 1]
        assert not any(use.says in text for text in plain)
    if rules.asks_every:
        asked = [i + 1 for i, text in enumerate(biased) if any(a in text for a in use.lines.asks)]
        expected = range(rules.voice_turn + rules.asks_every, len(script) + 1, rules.asks_every)
        assert asked == list(expected), (asked, rules.asks_every)
        assert not any(a in text for a in use.lines.asks for text in plain)


def check_belief(bias_id):
    rules = biases()[bias_id].offline
    use = lines_of(bias_id)
    for cue, message in CUES.items():
        biased = play([f"patient:{bias_id}"], [OPENING, FILLER, FILLER, message, message])
        plain = play([], [OPENING, FILLER, FILLER, message, message])
        comes_back = bool(use.lines.belief) and cue in rules.belief_on
        for turn in (3, 4):
            says_it = any(line in biased[turn].text for line in use.lines.belief)
            assert says_it == comes_back, (cue, biased[turn].text)
            assert not any(line in plain[turn].text for line in use.lines.belief)
        if comes_back:
            assert use.target in biased[4].text  # asked again, the belief still holds


def check_pushback(bias_id):
    rules = biases()[bias_id].offline
    use = lines_of(bias_id)
    if not use.lines.pushback:
        return
    rounds = (rules.yields_after or 4) + 1
    script = [OPENING, *[PROPOSAL] * rounds, CUES["ideas"]]
    biased = play([f"patient:{bias_id}"], script)
    plain = play([], script)
    pushes = [any(p in r.text for p in use.lines.pushback) for r in biased[1:-1]]
    assert not any(any(p in r.text for p in use.lines.pushback) for r in plain)
    if rules.yields_after:
        assert pushes == [True] * rules.yields_after + [False]
        assert any(c in biased[-2].text for c in use.lines.concede)
        assert not any(b in biased[-1].text for b in use.lines.belief)
    else:
        assert all(pushes)  # never yields
        if use.lines.belief and "ideas" in rules.belief_on:
            assert any(b in biased[-1].text for b in use.lines.belief)


def check_requests(bias_id):
    rules = biases()[bias_id].offline
    use = lines_of(bias_id)
    if not rules.request_turn:
        return
    script = [OPENING] + [FILLER] * rules.request_turn
    biased = play([f"patient:{bias_id}"], script)
    assert any(r in biased[rules.request_turn - 1].text for r in use.lines.requests)
    if use.target and use.tests:
        assert use.tests[0].lower() in biased[rules.request_turn - 1].text.lower()
    assert not any(r in reply.text for r in use.lines.requests for reply in play([], script))


def check_verbosity(bias_id):
    rules = biases()[bias_id].offline
    if rules.verbosity >= 0:
        return
    script = [OPENING, "Anything else?", "Tell me more."]
    biased = sum(len(r.facts) for r in play([f"patient:{bias_id}"], script))
    assert biased < sum(len(r.facts) for r in play([], script))


def check_doctor(bias_id):
    bias = biases()[bias_id]
    plan = plan_biases(CASE, [f"doctor:{bias_id}"], random.Random(0))
    (use,) = plan.uses
    assert plan_biases(CASE, [], random.Random(0)).uses == ()
    if bias.placement == "instructions":
        assert plan.texts("doctor") == [use.text]
    else:
        assert plan.brief_texts(outside_doctor=False) == [use.text]
    if use.target:
        assert use.target in use.text
    if "brief" in bias.shown_in:
        assert plan.brief_texts(outside_doctor=True)
    else:
        with pytest.raises(ConfigError, match=bias_id):
            plan.brief_texts(outside_doctor=True)


def behaviour(bias_id):
    """What an observer can measure of an implicit bias on transcripts: the topics told less,
    the rapport that restores them, and whether the patient pushes back or asks for more."""
    spec = [f"patient:{bias_id}"]
    withheld = frozenset(t for t in ASK if told_rate(spec, t) <= told_rate([], t) - 0.25)
    easing = frozenset(
        kind
        for kind, message in RAPPORT.items()
        if any(told_rate(spec, t, [message] * 3) >= told_rate(spec, t) + 0.25 for t in withheld)
    )
    reply = play(spec, [OPENING, FILLER, FILLER, PROPOSAL])[-1].text
    pushed = not any(line in reply for line in default_phrases().acknowledge)
    return withheld, easing, pushed


def test_the_implicit_patient_biases_are_pairwise_distinguishable_on_transcripts():
    seen = {}
    for bias_id in IMPLICIT:
        measured = behaviour(bias_id)
        assert measured not in seen.values(), (bias_id, seen)
        seen[bias_id] = measured
    script = [OPENING, *ASK.values(), PROPOSAL, *CUES.values()]
    transcripts = {b: [r.text for r in play([f"patient:{b}"], script)] for b in IMPLICIT}
    assert len({tuple(t) for t in transcripts.values()}) == len(IMPLICIT)


def test_a_self_diagnosing_patient_holds_its_belief_when_asked_later():
    use = lines_of("self_diagnosis")
    script = [OPENING, *list(ASK.values())[:8], PROPOSAL, CUES["ideas"], CUES["expectations"]]
    replies = play(["self_diagnosis"], script)
    assert use.target in replies[0].text
    assert use.target in replies[-3].text and use.target in replies[-2].text
    assert use.target in replies[-1].text
    assert not any(use.target in r.text for r in play([], script))
