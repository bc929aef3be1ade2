from datetime import UTC, datetime

import pytest

T0 = datetime(2024, 5, 6, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


@pytest.fixture
def t0() -> datetime:
    return T0
