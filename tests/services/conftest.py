"""What the service tests share: a generation to store images into."""

from __future__ import annotations

import pytest

from gallery.models import Generation
from tests.factories import personal_workspace


@pytest.fixture
def generation(user) -> Generation:
    return Generation.objects.create(
        created_by=user,
        workspace=personal_workspace(user),
        idempotency_key="key-1",
        prompt="a red fox in the snow",
        model="demo",
        n=4,
    )
