from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "capture"


@pytest.fixture
def data_dir() -> Path:
    return DATA


def read(*parts: str) -> str:
    return DATA.joinpath(*parts).read_text(encoding="utf-8")
