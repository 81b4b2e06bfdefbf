import json
import shutil
from pathlib import Path

import pytest

from clinic_env.datasets import (
    DatasetWarning,
    dataset_spec,
    find_leaks,
    load_cases,
    load_dataset,
)
from clinic_env.errors import CaseDataError, DatasetDownloadError, UnknownNameError
from tests.helpers.cases import MINIMAL_CASE, write_yaml
from tests.helpers.datasets import MEDIQ, NEJM, OSCE, place_in_cache, use_fixture_registry

SPECIALTIES_NEEDED = 12


def test_starter_set_meets_the_content_bar():
    cases = load_cases("starter")
    assert len(cases) >= 40
    assert len({case.specialty for case in cases}) >= SPECIALTIES_NEEDED
    assert any(case.demographics.age_years < 16 for case in cases), "paediatric cases expected"
    for case in cases:
        assert len(case.facts) >= 10, case.id
        assert case.exam, case.id
        assert len(case.tests) >= 4, case.id
        assert all(test.cost_usd > 0 for test in case.tests), case.id
        assert case.ground_truth.differentials, case.id
        assert case.source.dataset == "starter"


def test_small_children_speak_through_a_caregiver():
    for case in load_cases("starter"):
        if case.demographics.age_years < 5:
            assert case.informant == "caregiver", case.id


def test_local_yaml_folder_and_jsonl(tmp_path: Path):
    write_yaml(tmp_path / "one.yaml", MINIMAL_CASE)
    lines = [json.dumps({**MINIMAL_CASE, "id": f"j-{i}"}) for i in range(3)]
    (tmp_path / "more.jsonl").write_text("\n".join(lines))
    ids = [case.id for case in load_cases(tmp_path)]
    assert sorted(ids) == ["j-0", "j-1", "j-2", "test-001"]


def test_bad_yaml_case_names_file_line_and_field(tmp_path: Path):
    bad = {**MINIMAL_CASE, "demographics": {**MINIMAL_CASE["demographics"], "age_years": -4}}
    path = write_yaml(tmp_path / "bad.yaml", bad)
    with pytest.raises(CaseDataError) as error:
        load_cases(path)
    assert "bad.yaml:" in str(error.value)
    assert "demographics.age_years" in str(error.value)


def test_bad_jsonl_case_names_its_line(tmp_path: Path):
    good = json.dumps(MINIMAL_CASE)
    broken = json.dumps({**MINIMAL_CASE, "id": "x", "facts": []})
    path = tmp_path / "cases.jsonl"
    path.write_text(f"{good}\n{broken}\n")
    with pytest.raises(CaseDataError, match=r"cases.jsonl:2 \(field facts\)"):
        load_cases(path)
    path.write_text(f"{good}\n{{not json\n")
    with pytest.raises(CaseDataError, match=r"cases.jsonl:2: invalid JSON"):
        load_cases(path)


def test_duplicate_ids_and_unknown_datasets(tmp_path: Path):
    path = tmp_path / "dups.jsonl"
    path.write_text(json.dumps(MINIMAL_CASE) + "\n" + json.dumps(MINIMAL_CASE))
    with pytest.raises(CaseDataError, match="more than once"):
        load_cases(path)
    with pytest.raises(UnknownNameError, match="starter"):
        load_cases("no-such-dataset")


def test_caregiver_case_must_name_the_caregiver(tmp_path: Path):
    path = write_yaml(tmp_path / "child.yaml", {**MINIMAL_CASE, "informant": "caregiver"})
    with pytest.raises(CaseDataError, match="caregiver"):
        load_cases(path)


def test_foreign_files_are_recognised_by_their_first_record():
    with pytest.warns(DatasetWarning, match=r"agentclinic_osce: 9 records, 5 cases loaded"):
        cases = load_cases(OSCE)
    assert len(cases) == 5
    assert load_dataset(NEJM).format == "agentclinic-nejm"
    assert load_dataset(MEDIQ).format == "mediq"


def test_unrecognised_files_name_their_line_and_keys(tmp_path: Path):
    path = tmp_path / "mystery.jsonl"
    path.write_text('\n["a list"]\n{"title": "x", "body": "y"}\n')
    with pytest.raises(CaseDataError, match=r"mystery.jsonl:3: cannot tell .* body, title"):
        load_cases(path)
    path.write_text("\n\n")
    with pytest.raises(CaseDataError, match="no JSON object"):
        load_cases(path)
    with pytest.raises(UnknownNameError, match="unknown format"):
        load_cases(path, format="csv")


def test_a_registered_dataset_warns_once(monkeypatch: pytest.MonkeyPatch):
    use_fixture_registry(monkeypatch)
    place_in_cache("craftmd")
    with pytest.warns(DatasetWarning) as caught:
        first = load_cases("craftmd")
        second = load_cases("craftmd")
    assert len(caught) == 1
    assert first is second
    assert all(case.source.dataset == "craftmd" for case in first)
    assert first[0].source.version == dataset_spec("craftmd").source.ref


def test_redact_leaks_withholds_the_answer_in_the_data():
    with pytest.warns(DatasetWarning):
        redacted = {case.id: case for case in load_cases(OSCE, redact_leaks=True)}
    gout = redacted["agentclinic_osce-1"]
    aspiration = next(t for t in gout.tests if t.name == "Joint aspiration")
    assert "[withheld]" in aspiration.result
    assert "gout" not in aspiration.result.lower()
    assert (
        redacted["agentclinic_osce-10"].doctor_brief
        == "Evaluate a 29-year-old woman for [withheld]."
    )
    assert all(find_leaks(case) == [] for case in redacted.values())


def test_credentialed_data_loads_by_path_only(tmp_path: Path):
    with pytest.raises(DatasetDownloadError, match="credentialed"):
        load_cases("mimiciv")
    local = tmp_path / "agentclinic_mimiciv.jsonl"
    shutil.copyfile(OSCE, local)
    with pytest.warns(DatasetWarning):
        assert len(load_cases(local)) == 5
