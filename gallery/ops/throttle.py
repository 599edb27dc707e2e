"""A fixed-window throttle kept in the database, so every web process on every machine shares it
(the default cache is per process). Used for sign-ups; logins are django-axes' job."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from gallery.ops.models import ThrottleHit


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or behind DJANGO_TRUSTED_PROXY_COUNT proxies the
    address the outermost trusted proxy saw (the right-most entries of X-Forwarded-For are the
    proxies' own; anything left of them may be forged by the client)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies and is_ip(forwarded[-proxies]):
            return forwarded[-proxies]
    # None when unknown (a request built in code): django-axes stores it as NULL.
    return request.META.get("REMOTE_ADDR") or None


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def allow(*, key: str, limit: int, window: timedelta) -> bool:
    """Record one attempt for `key` and say whether it is within `limit` per `window`.

    A refused attempt is not recorded, so waiting out the window always lets the next one in."""
    now = timezone.now()
    recent = ThrottleHit.objects.filter(key=key, created_at__gte=now - window)
    if recent.count() >= limit:
        return False
    ThrottleHit.objects.create(key=key, created_at=now)
    # Old hits are worth nothing: drop this key's, so the table stays as small as the window.
    ThrottleHit.objects.filter(key=key, created_at__lt=now - window).delete()
    return True
