from pathlib import Path

import pytest
from pydantic import Field

from clinic_env.content import content_root, load_yaml_model
from clinic_env.errors import ContentError
from clinic_env.schema.base import Frozen


class Item(Frozen):
    name: str
    count: int = Field(ge=0)


class Holder(Frozen):
    items: list[Item]


def test_content_root_has_the_three_content_folders():
    root = content_root()
    assert (root / "agents" / "personas").is_dir()
    assert (root / "cases" / "starter").is_dir()
    assert (root / "evaluators" / "rewards").is_dir()


def test_validation_error_names_file_line_and_field(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("items:\n  - name: a\n    count: 1\n  - name: b\n    count: -3\n")
    with pytest.raises(ContentError) as error:
        load_yaml_model(path, Holder)
    message = str(error.value)
    assert f"{path}:5" in message
    assert "items.1.count" in message


def test_unknown_key_is_rejected_with_its_line(tmp_path: Path):
    path = tmp_path / "typo.yaml"
    path.write_text("items:\n  - name: a\n    cuont: 1\n")
    with pytest.raises(ContentError, match=r"typo.yaml:3 \(field items.0.cuont\)"):
        load_yaml_model(path, Holder)


def test_duplicate_key_is_an_error(tmp_path: Path):
    path = tmp_path / "dup.yaml"
    path.write_text("items: []\nitems: []\n")
    with pytest.raises(ContentError, match=r"dup.yaml:2 \(field items\): duplicate key"):
        load_yaml_model(path, Holder)


def test_invalid_yaml_names_the_line(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text("items:\n  - name: [unclosed\n")
    with pytest.raises(ContentError, match=r"broken.yaml:\d+: invalid YAML"):
        load_yaml_model(path, Holder)


def test_empty_and_missing_files(tmp_path: Path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ContentError, match="empty"):
        load_yaml_model(empty, Holder)
    with pytest.raises(ContentError, match="cannot be read"):
        load_yaml_model(tmp_path / "absent.yaml", Holder)
