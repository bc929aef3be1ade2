from pathlib import Path

import pytest
from hypothesis import settings

DATA = Path(__file__).resolve().parents[1] / "data" / "capture"


@pytest.fixture
def data_dir() -> Path:
    return DATA


def read(*parts: str) -> str:
    return DATA.joinpath(*parts).read_text(encoding="utf-8")


def fuzz(examples: int) -> settings:
    """Hypothesis settings for the hostile-input tests (no example database left in the tree)."""
    return settings(max_examples=examples, deadline=None, database=None)
