"""The detector parameters of the alert tests: the settings' defaults."""

from __future__ import annotations

import pytest

from newsflow.alerts.detector import DetectorParams
from newsflow.settings import Settings


@pytest.fixture
def params() -> DetectorParams:
    return DetectorParams.from_settings(Settings())
