import json

import pytest

from clinic_env.errors import ConfigError
from clinic_env.llm import ModelConfig, as_model_config


@pytest.mark.parametrize(
    ("key", "meant"),
    [("retries", "max_retries"), ("timeout", "timeout_s"), ("base_url", "api_base")],
)
def test_a_wrong_key_is_one_named_line_with_the_key_it_meant(key, meant):
    with pytest.raises(ConfigError) as error:
        as_model_config({"model": "openai/gpt-4o-mini", key: 3})
    message = str(error.value)
    assert "\n" not in message
    assert f"unknown key {key!r}" in message and f"did you mean {meant!r}" in message
    assert error.value.__cause__ is None, "no pydantic traceback chained on"


def test_bad_values_and_missing_fields_are_named_with_where_they_came_from():
    with pytest.raises(ConfigError) as error:
        as_model_config({"max_retries": "five"}, where="roles.yaml:3 patient")
    message = str(error.value)
    assert message.startswith("roles.yaml:3 patient: ")
    assert "'model' is required" in message and "max_retries:" in message and "'five'" in message


def test_a_model_id_and_a_ready_config_pass_through():
    assert as_model_config("openai/gpt-4o-mini").model == "openai/gpt-4o-mini"
    config = ModelConfig(model="x/y")
    assert as_model_config(config) is config


def test_url_credentials_are_kept_for_calls_but_left_out_of_json():
    config = ModelConfig(
        model="openai/m",
        api_base="http://ann:s3cret@10.0.0.5:8000/v1",
        replicas=("https://bob:pw@10.0.0.6/v1",),
    )
    assert config.api_base == "http://ann:s3cret@10.0.0.5:8000/v1"
    dumped = config.model_dump_json()
    assert "s3cret" not in dumped and "pw@" not in dumped
    assert json.loads(dumped)["replicas"] == ["https://10.0.0.6/v1"]
    assert config.model_dump(mode="json")["api_base"] == "http://10.0.0.5:8000/v1"
    assert config.model_dump()["api_base"] == config.api_base
