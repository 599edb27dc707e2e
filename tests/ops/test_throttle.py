from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import RequestFactory

from gallery.ops import throttle
from gallery.ops.models import ThrottleHit

pytestmark = pytest.mark.django_db


def test_the_throttle_refuses_past_the_limit_and_lets_in_after_the_window():
    window = timedelta(hours=1)
    assert [throttle.allow(key="k", limit=2, window=window) for _ in range(3)] == [
        True,
        True,
        False,
    ]
    assert throttle.allow(key="other", limit=2, window=window)
    ThrottleHit.objects.filter(key="k").update(
        created_at=ThrottleHit.objects.first().created_at - window
    )
    assert throttle.allow(key="k", limit=2, window=window)
    assert ThrottleHit.objects.filter(key="k").count() == 1  # the old hits were dropped


def test_client_ip_trusts_only_the_configured_number_of_proxies(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7"
    )
    settings.TRUSTED_PROXY_COUNT = 0
    assert throttle.client_ip(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    assert throttle.client_ip(request) == "203.0.113.7"  # not the forgeable 6.6.6.6


def test_client_ip_ignores_a_forwarded_value_that_is_not_an_address(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="garbage")
    assert throttle.client_ip(request) == "10.0.0.2"
    assert throttle.client_ip(RequestFactory().get("/", REMOTE_ADDR="")) is None
