import asyncio
import random

import pytest

from clinic_env.agents.offline_measurement import OfflineMeasurement
from clinic_env.schema import Action, ActionKind
from tests.helpers.cases import minimal_case


@pytest.fixture
def room() -> OfflineMeasurement:
    return OfflineMeasurement(minimal_case().measurement_view(), random.Random(0))


@pytest.mark.parametrize("name", ["CBC", "complete blood count", "Full Blood Count", "FBC"])
def test_test_synonyms_find_the_case_result(room, name):
    result = room.lookup(Action(kind=ActionKind.ORDER_TEST, text=name))
    assert result.found
    assert "11.2" in result.text
    assert result.cost_usd == 30 and result.turnaround_hours == 1


def test_unlisted_test_is_normal_with_catalogue_cost(room):
    result = room.lookup(Action(kind=ActionKind.ORDER_TEST, text="TSH"))
    assert not result.found
    assert "normal" in result.text.lower()
    assert result.cost_usd > 0


def test_unknown_test_is_normal_and_free(room):
    result = room.lookup(Action(kind=ActionKind.ORDER_TEST, text="quantum aura scan"))
    assert not result.found and result.cost_usd == 0 and "normal" in result.text.lower()


@pytest.mark.parametrize("request_text", ["knee", "musculoskeletal", "joints", "the joints please"])
def test_exam_by_system_or_body_part(room, request_text):
    result = room.lookup(Action(kind=ActionKind.EXAMINE, text=request_text))
    assert "Hot, red, swollen" in result.text


def test_full_exam_and_unlisted_system(room):
    full = room.lookup(Action(kind=ActionKind.EXAMINE, text="full physical"))
    assert "Hot, red" in full.text and "Temperature" in full.text
    abdomen = asyncio.run(room.measure(Action(kind=ActionKind.EXAMINE, text="abdomen")))
    assert not abdomen.found and "no abnormality" in abdomen.text
    nonsense = room.lookup(Action(kind=ActionKind.EXAMINE, text="aura"))
    assert not nonsense.found and "not an examination" in nonsense.text


def test_images_when_there_are_none(room):
    result = room.lookup(Action(kind=ActionKind.REQUEST_IMAGES))
    assert not result.found


def test_images_are_listed_by_kind_and_number_never_by_file_name():
    images = [
        {"location": "/data/podagra-first-toe.png", "kind": "photograph"},
        {"location": "https://example.org/cases/gouty-knee.jpg", "kind": "xray"},
    ]
    room = OfflineMeasurement(minimal_case(images=images).measurement_view(), random.Random(0))
    result = room.lookup(Action(kind=ActionKind.REQUEST_IMAGES))
    assert result.found
    assert "image 1 (photograph); image 2 (xray)" in result.text
    assert "podagra" not in result.text and "gouty" not in result.text
