"""The fidelity audit: every raw value of every fixture reaches its case, and what does not is
listed; placeholders, refusals and role-play are counted, and reported if a case keeps them."""

import json
from pathlib import Path

import pytest

from clinic_env.cli.main import main
from clinic_env.datasets import dataset_spec, load_dataset
from clinic_env.datasets.convert import nejm
from clinic_env.datasets.convert.tidy import Tidied, clean
from clinic_env.datasets.fidelity import audit_fidelity
from clinic_env.errors import CaseDataError
from tests.helpers.datasets import (
    FORMAT_FIXTURES,
    MEDQA,
    MEDQA_EXT,
    NEJM_EXT,
    mirror_layout,
    serve,
    use_fixture_registry,
)

ALL_FIXTURES = [(name, path) for name, paths in FORMAT_FIXTURES.items() for path in paths]


@pytest.mark.parametrize(
    ("format_name", "path"), ALL_FIXTURES, ids=[p.stem for _, p in ALL_FIXTURES]
)
def test_no_value_of_any_fixture_is_lost(format_name: str, path: Path):
    report = audit_fidelity(path)
    assert report.converted >= 2 and report.values >= 30, format_name
    assert report.lost == []
    assert report.still_held == []


def test_dropped_text_is_counted_by_reason():
    assert audit_fidelity(NEJM_EXT).dropped == {"placeholder": 2, "refusal": 3, "role-play": 8}
    assert audit_fidelity(MEDQA).dropped == {"placeholder": 1}
    assert audit_fidelity(MEDQA_EXT).dropped == {"placeholder": 3, "refusal": 1}


def test_a_value_no_case_holds_is_listed(tmp_path: Path):
    record = json.loads(MEDQA.read_text(encoding="utf-8").splitlines()[0])
    record["OSCE_Examination"]["Examiner_Notes"] = "Check the fundi for retinopathy."
    path = tmp_path / "lossy.jsonl"
    path.write_text(json.dumps(record))
    report = audit_fidelity(path)
    assert [(v.line, v.where, v.text) for v in report.lost] == [
        (1, "OSCE_Examination.Examiner_Notes", "Check the fundi for retinopathy.")
    ]
    assert "1 lost" in report.summary()


def test_a_refusal_a_converter_keeps_is_reported(monkeypatch: pytest.MonkeyPatch):
    def keep_everything(text: str, rules: object, *, role_play: bool = False) -> Tidied:
        return Tidied(kept=(clean(text),))

    monkeypatch.setattr(nejm, "tidy", keep_everything)
    report = audit_fidelity(NEJM_EXT)
    held = {v.text for v in report.still_held}
    assert "The provided text does not include any tests or instrument readings." in held
    assert "Act as a worried but polite older woman." in held


def test_the_command_prints_losses_drops_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    assert main(["datasets", "audit", str(NEJM_EXT), "--fidelity", "--verbose"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("fidelity of agentclinic_nejm_extended (agentclinic-nejm): 3 of 3")
    assert "0 lost" in out[-1] and "refusal 3" in out[-1]
    assert any(line.startswith("  dropped (refusal) agentclinic_nejm_extended-1") for line in out)
    record = json.loads(MEDQA.read_text(encoding="utf-8").splitlines()[0])
    record["OSCE_Examination"]["Examiner_Notes"] = "Check the fundi."
    lossy = tmp_path / "lossy.jsonl"
    lossy.write_text(json.dumps(record))
    assert main(["datasets", "audit", str(lossy), "--fidelity", "--kind", "leak"]) == 0
    assert main(["datasets", "audit", str(lossy), "--fidelity", "--strict"]) == 1
    assert "  lost lossy-1 [line 1] OSCE_Examination.Examiner_Notes" in capsys.readouterr().out


def test_a_downloaded_dataset_is_audited_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    use_fixture_registry(monkeypatch, {"medqa": MEDQA})
    mirror_layout(tmp_path / "mirror", dataset_spec("medqa"), MEDQA)
    with serve(tmp_path) as base:
        monkeypatch.setenv("CLINIC_ENV_DATA_MIRROR", f"{base}/mirror")
        report = audit_fidelity("medqa")
    assert (report.dataset, report.records, report.converted) == ("medqa", 5, 5)
    assert report.values > 100 and report.lost == []


def test_cases_in_clinic_envs_own_format_are_refused(tmp_path: Path):
    native = tmp_path / "native.jsonl"
    case = load_dataset(MEDQA).cases[0]
    native.write_text(case.model_dump_json(exclude_defaults=True))
    with pytest.raises(CaseDataError, match="own format"):
        audit_fidelity(native)
