from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from gallery.ops import leases
from gallery.ops.models import Lease

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)


def test_one_owner_at_a_time_until_the_lease_expires():
    assert leases.acquire(name="job", owner="a", duration=HOUR)
    assert not leases.acquire(name="job", owner="b", duration=HOUR)
    assert not leases.acquire(name="job", owner="a", duration=HOUR)  # once per period, even a
    Lease.objects.filter(name="job").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert leases.acquire(name="job", owner="b", duration=HOUR)
    assert Lease.objects.get(name="job").owner == "b"


def test_a_released_lease_is_free_at_once():
    assert leases.acquire(name="job", owner="a", duration=HOUR)
    leases.release(name="job", owner="b")  # not b's to release
    assert not leases.acquire(name="job", owner="b", duration=HOUR)
    leases.release(name="job", owner="a")
    assert leases.acquire(name="job", owner="b", duration=HOUR)


def test_leases_are_independent_by_name():
    assert leases.acquire(name="one", owner="a", duration=HOUR)
    assert leases.acquire(name="two", owner="b", duration=HOUR)
