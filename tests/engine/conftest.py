"""Engine-test fixtures."""

from __future__ import annotations

import pytest

from oktapi.engine import Campaign


@pytest.fixture
def four_campaigns() -> list[Campaign]:
    """Four campaigns, two of them bounded."""
    return [
        Campaign("search"),
        Campaign("social", min_budget=5.0),
        Campaign("video", max_budget=40.0),
        Campaign("display", min_budget=2.0, max_budget=60.0),
    ]
