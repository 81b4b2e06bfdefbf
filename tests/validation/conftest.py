import pytest

from clinic_env.datasets import load_cases
from clinic_env.schema.case import Case


@pytest.fixture(scope="session")
def bundled() -> tuple[Case, ...]:
    return load_cases("starter")
