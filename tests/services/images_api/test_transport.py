"""The pooled client and its guard: downloads never reach a private address."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

from gallery.services import images_api
from gallery.services.images_api import (
    DownloadError,
    ImageRequest,
    generate,
    transport,
)
from tests.fake_images_api import (
    FAKE_API_KEY,
    PNG_SIGNATURE,
    Reply,
    png_dimensions,
)
from tests.services.images_api.builders import relay


@pytest.fixture
def connections(monkeypatch):
    """Every address a socket is opened to, recorded before the connection is attempted."""
    opened: list[tuple[str, int]] = []
    real = socket.create_connection

    def recording(address, *args, **kwargs):
        opened.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", recording)
    return opened


@pytest.mark.parametrize(
    ("fault", "address"), [("redirect-private", "169.254.169.254"), ("redirect-10", "10.0.0.1")]
)
def test_a_redirect_to_a_private_address_is_refused_before_connecting(
    fake_images_api, settings, connections, fault, address
):
    # The API itself is on loopback: its own origin is trusted, anything else must be public.
    settings.IMAGES_API_ALLOW_PRIVATE_URLS = False
    result = generate(request=relay(f"[fault:{fault}] a cat", n=2))

    first, second = result.images
    assert isinstance(first.error, DownloadError)
    assert first.error.user_message == (
        "The image could not be downloaded: the link points into a private network, which "
        "Atelier does not fetch from."
    )
    assert address in first.error.detail
    assert first.error.retries == 0
    assert address not in {host for host, _port in connections}
    assert len(fake_images_api.downloads("/redirect")) == 1
    assert second.data.startswith(PNG_SIGNATURE)


@pytest.fixture
def fake_dns(monkeypatch):
    """Names that resolve to the addresses a test gives them."""
    names: dict[str, list[str]] = {}
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
                if ":" in address
                else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
                for address in names[host]
            ]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


def test_a_host_with_any_private_address_is_refused(
    fake_images_api, settings, connections, fake_dns
):
    settings.IMAGES_API_ALLOW_PRIVATE_URLS = False
    fake_dns["images.example.test"] = ["93.184.216.34", "127.0.0.1"]
    fake_images_api.script(
        Reply(200, {"created": 1, "data": [{"url": "http://images.example.test/a.png"}]})
    )
    [image] = generate(request=relay()).images

    assert "private network" in image.error.user_message
    assert "(127.0.0.1)" in image.error.detail
    assert {"93.184.216.34", "127.0.0.1", "images.example.test"}.isdisjoint(
        host for host, port in connections if port == 80
    )


@pytest.mark.parametrize("allow", [True, False])
def test_the_private_address_check_can_be_turned_off(fake_images_api, settings, fake_dns, allow):
    settings.IMAGES_API_ALLOW_PRIVATE_URLS = allow
    fake_dns["images.example.test"] = ["127.0.0.1"]
    port = httpx.URL(fake_images_api.base_url).port
    url = f"http://images.example.test:{port}/images/abc123-0-64x48.png"
    fake_images_api.script(Reply(200, {"created": 1, "data": [{"url": url}]}))

    [image] = generate(request=relay()).images

    if allow:
        assert image.error is None
        assert png_dimensions(image.data) == (64, 48)
    else:
        assert "private network" in image.error.user_message
        assert fake_images_api.downloads("/images/") == []


@pytest.mark.parametrize("url", ["ftp://example.com/a.png", "file:///etc/passwd", "not a url"])
def test_links_that_are_not_http_are_refused(fake_images_api, url):
    fake_images_api.script(Reply(200, {"created": 1, "data": [{"url": url}]}))
    [image] = generate(request=relay()).images
    assert image.error.user_message == (
        "The image could not be downloaded: the link is not an http(s) address."
    )
    assert fake_images_api.downloads() == []


def test_one_client_per_process_reused_and_remade_after_fork(monkeypatch):
    first = images_api.http_client()
    assert images_api.http_client() is first
    monkeypatch.setattr(transport.os, "getpid", lambda: -1)
    assert images_api.http_client() is not first


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("10.0.0.1", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("2606:4700::6810:85e5", True),
        ("::1", False),
        ("fe80::1%eth0", False),
        # IPv4-mapped IPv6: the IPv4 it maps decides.
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:93.184.216.34", True),
        # NAT64, the well-known prefix: a gateway turns it into the embedded IPv4.
        ("64:ff9b::7f00:1", False),
        ("64:ff9b::a00:1", False),
        ("64:ff9b::a9fe:a9fe", False),
        ("64:ff9b::c0a8:101", False),
        ("64:ff9b::5db8:d822", True),
        # NAT64's local-use prefix is never public.
        ("64:ff9b:1::a00:1", False),
        ("64:ff9b:1::5db8:d822", False),
        # 6to4: the IPv4 sits in bits 16-48.
        ("2002:7f00:1::1", False),
        ("2002:a00:1::1", False),
        ("2002:a9fe:a9fe::1", False),
        ("2002:5db8:d822::1", True),
        # The deprecated IPv4-compatible form.
        ("::127.0.0.1", False),
        ("::10.0.0.1", False),
    ],
)
def test_which_addresses_count_as_public(address, public):
    assert transport.address_is_public(address) is public


@pytest.mark.parametrize(
    "address",
    ["::ffff:127.0.0.1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1", "2002:a00:1::1"],
)
def test_a_host_behind_an_ipv6_form_of_a_private_ipv4_is_refused(
    fake_images_api, settings, connections, fake_dns, address
):
    settings.IMAGES_API_ALLOW_PRIVATE_URLS = False
    fake_dns["images.example.test"] = [address]
    fake_images_api.script(
        Reply(200, {"created": 1, "data": [{"url": "http://images.example.test/a.png"}]})
    )
    [image] = generate(request=relay()).images

    assert "private network" in image.error.user_message
    assert f"({address})" in image.error.detail
    assert all(port != 80 for _host, port in connections)


def test_every_provider_s_own_origin_is_trusted_and_nothing_else(
    fake_images_api, settings, tmp_path, monkeypatch
):
    settings.IMAGES_API_ALLOW_PRIVATE_URLS = False
    settings.IMAGES_API_BASE_URL = "http://127.0.0.1:9/v1"  # the default provider: elsewhere
    monkeypatch.setenv("OTHER_IMAGES_KEY", FAKE_API_KEY)
    models = tmp_path / "models.json"
    models.write_text(
        json.dumps(
            {
                "providers": [
                    {
                        "name": "other",
                        "base_url": fake_images_api.api_base_url,
                        "api_key_env": "OTHER_IMAGES_KEY",
                    }
                ],
                "models": [{"id": "dall-e-2", "provider": "other"}],
            }
        )
    )
    settings.IMAGES_API_MODELS_FILE = str(models)
    assert transport.trusted_origins() == {
        ("127.0.0.1", 9),
        ("127.0.0.1", httpx.URL(fake_images_api.base_url).port),
    }

    [image] = generate(request=ImageRequest(model="dall-e-2", prompt="a cat")).images
    assert image.error is None  # served from the provider's own (loopback) origin

    other_port = f"http://localhost:{httpx.URL(fake_images_api.base_url).port}/images/a-0-8x8.png"
    fake_images_api.script(Reply(200, {"created": 1, "data": [{"url": other_port}]}))
    [image] = generate(request=ImageRequest(model="dall-e-2", prompt="a cat")).images
    assert "private network" in image.error.user_message


def test_the_transport_uses_only_public_httpx_and_httpcore_names():
    source = Path(transport.__file__).read_text()
    assert "._pool" not in source.replace("self._pool", "")
    assert "httpx._" not in source
    assert "httpcore._" not in source
