"""The post-consultation questionnaire a model patient answers, in its own conversation."""

import asyncio

import pytest

from clinic_env.agents.base import PatientQuestion
from clinic_env.agents.llm_patient import LLMPatient
from clinic_env.agents.personas import load_persona
from clinic_env.evaluators.questionnaire import QuestionnaireEvaluator, questionnaire
from clinic_env.session import create_session
from clinic_env.testing.scripted import ScriptedTransport
from tests.agents.test_llm_agents import role
from tests.helpers.cases import minimal_case
from tests.helpers.transcripts import score, transcript


def patient(answers: str) -> tuple[LLMPatient, ScriptedTransport]:
    transport = ScriptedTransport({"patient": ["I have a few beers most nights.", answers]})
    case = minimal_case()
    agent = LLMPatient(role("patient", transport), case.patient_view(), load_persona("anxious"))
    asyncio.run(agent.reply(PatientQuestion("Do you drink?", 1, 19)))
    return agent, transport


def test_answers_are_scaled_and_asked_in_the_patients_own_conversation():
    agent, transport = patient('Sure: {"compliance": 5, "confidence": 3, "return": "1"}')
    case = minimal_case()
    got = score(case, transcript(case, []), QuestionnaireEvaluator(), patient=agent).as_dict()
    assert got == {
        "questionnaire_compliance": 1.0,
        "questionnaire_confidence": 0.5,
        "questionnaire_return": 0.0,
    }
    asked = transport.requests[-1]["messages"]
    assert asked[:3] == transport.requests[0]["messages"] + [
        {"role": "assistant", "content": "I have a few beers most nights."}
    ]
    assert "confidence" in asked[-1]["content"]
    assert len(agent.messages) == 3  # the questionnaire is not part of the consultation


@pytest.mark.parametrize("answers", ["I'd rather not say.", '{"compliance": 9}', "{}"])
def test_unreadable_answers_are_recorded_as_failures(answers):
    agent, _ = patient(answers)
    case = minimal_case()
    result = score(case, transcript(case, []), QuestionnaireEvaluator(), patient=agent)
    assert [c.name for c in result.components] == [
        f"questionnaire_{item.id}" for item in questionnaire().items
    ]
    assert all(c.value is None and c.error for c in result.components)


def test_an_offline_patient_is_not_asked():
    session = create_session(minimal_case(), seed=0)
    case = minimal_case()
    result = score(case, transcript(case, []), QuestionnaireEvaluator(), patient=session.patient)
    assert result.components == ()
