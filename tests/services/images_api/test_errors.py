"""Errors and the scrubbing of credentials."""

from __future__ import annotations

from gallery.services import images_api


def test_redact_removes_the_key_and_its_masked_forms(settings):
    settings.IMAGES_API_KEY = "sk-proj-abcdefghijklmnop1234567890"
    text = images_api.redact(
        "bad key sk-proj-abcdefghijklmnop1234567890, masked sk-proj-****************7890, "
        "partial abcdefghijklmnop, Bearer whatever-token"
    )
    assert "abcdefghijklmnop" not in text
    assert "7890" not in text
    assert "whatever-token" not in text
