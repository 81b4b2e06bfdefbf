from pathlib import Path

import pytest
import yaml

from clinic_env.content import content_path, load_yaml_model
from clinic_env.datasets import dataset_names, dataset_registry, dataset_spec
from clinic_env.datasets.convert.rules import ConversionRules
from clinic_env.errors import ContentError, UnknownNameError
from clinic_env.language import knowledge

NAMES = {"starter", "medqa", "medqa-ext", "nejm", "nejm-ext", "mimiciv", "mediq-medqa", "craftmd"}


def test_every_dataset_of_the_formats_page_is_registered():
    assert set(dataset_names()) == NAMES


def test_entries_are_pinned_checked_licensed_and_cited():
    for name in dataset_names():
        spec = dataset_spec(name)
        assert spec.licence and spec.citation, name
        if spec.entry.bundled is not None:
            continue
        assert len(spec.source.ref) == 40, name
        assert spec.url().endswith(f"/{spec.source.ref}/{spec.relative_path.split('/', 3)[3]}")
        if name == "mimiciv":
            assert spec.entry.access == "credentialed" and not spec.downloadable
        else:
            assert spec.downloadable and len(spec.entry.sha256) == 64, name
    assert dataset_spec("medqa").licence == "MIT"
    assert dataset_spec("craftmd").licence == "CC BY 4.0"
    assert "AgentClinic" in dataset_spec("nejm").citation
    assert "MediQ" in dataset_spec("mediq-medqa").citation
    assert dataset_spec("craftmd").entry.mode == "mcq"
    assert dataset_spec("medqa").entry.mode == "open"


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(UnknownNameError, match="medqa"):
        dataset_spec("medqaa")


def test_bad_registry_names_file_line_and_field(tmp_path: Path):
    data = dataset_registry().model_dump(exclude_none=True)
    data["datasets"]["medqa"]["sha256"] = "not-a-checksum"
    data["datasets"]["nejm"]["licence_url"] = "https://example.org"
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ContentError) as error:
        load_yaml_model(path, type(dataset_registry()))
    message = str(error.value)
    assert "registry.yaml:" in message
    assert "datasets.medqa.sha256" in message
    assert "datasets.nejm.licence_url" in message


def test_a_download_needs_its_checksum(tmp_path: Path):
    data = dataset_registry().model_dump(exclude_none=True)
    del data["datasets"]["nejm"]["sha256"]
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ContentError, match=r"datasets.nejm.*sha256"):
        load_yaml_model(path, type(dataset_registry()))


def test_conversion_rules_use_only_known_exam_systems():
    rules = load_yaml_model(content_path("cases", "conversion.yaml"), ConversionRules)
    known = {system.name for system in knowledge.exam_catalog().systems}
    assert set(rules.exam_systems) == known
