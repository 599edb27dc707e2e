"""The HTTP client: one per process, with downloads kept off private networks."""

from __future__ import annotations

import contextlib
import http.cookiejar
import ipaddress
import os
import socket
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx
from django.conf import settings

from gallery.services import catalog

USER_AGENT = "Atelier images client"


class BlockedAddressError(Exception):
    """A download tried to connect to an address on a private, loopback or link-local net."""


# IPv6 ranges that carry an IPv4 address in their low 32 bits and reach it: NAT64's well-known
# prefix (RFC 6052) and the deprecated IPv4-compatible form. A NAT64 gateway turns
# 64:ff9b::a00:1 into 10.0.0.1, so such an address is as private as the IPv4 it embeds.
# (64:ff9b:1::/48, NAT64's local-use prefix of RFC 8215, is not global at all: refused as such.)
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to, for the forms that embed one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:  # 2002::/16 (6to4): bits 16-48
        return ip.sixtofour
    if ip in NAT64_WELL_KNOWN or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_is_public(address: str) -> bool:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
        address.split("%", 1)[0]
    )
    if isinstance(ip, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(ip)) is not None:
        ip = embedded
    return ip.is_global and not ip.is_multicast


def _origin(base_url: str) -> tuple[str, int] | None:
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL:
        return None
    if not url.host:
        return None
    return url.host.lower(), url.port or (443 if url.scheme == "https" else 80)


def trusted_origins() -> frozenset[tuple[str, int]]:
    """(host, port) of every provider's API: the operator chose them, so they are trusted."""
    origins = (_origin(provider.resolved_base_url()) for provider in catalog.all_providers())
    return frozenset(origin for origin in origins if origin is not None)


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise httpcore.ConnectError(f"could not resolve {host}: {error}") from error
    addresses: list[str] = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class PublicOnlyBackend(httpcore.NetworkBackend):
    """Connects only to public addresses, except to the configured APIs' own origins.

    The check runs where the socket is opened, on the addresses it then connects to, so a
    redirect or a DNS answer that changes between a check and the connection cannot slip a
    private address through. The API origins are trusted because the operator chose them, and a
    relay on the local network often serves its images from its own host.
    """

    def __init__(self, *, allow_private: bool, trusted: frozenset[tuple[str, int]]) -> None:
        self._inner = httpcore.SyncBackend()
        self._allow_private = allow_private
        self._trusted = trusted

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        if self._allow_private or (host.lower(), port) in self._trusted:
            return self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        addresses = _resolve(host, port)
        blocked = [address for address in addresses if not address_is_public(address)]
        if blocked:
            raise BlockedAddressError(
                f"{host} resolves to a non-public address ({', '.join(blocked)})"
            )
        last_error: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        raise last_error or httpcore.ConnectError(f"no address for {host}")

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


# Most specific first: an httpcore error becomes the httpx error of the same name.
_HTTPCORE_TO_HTTPX: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        for core_type, httpx_type in _HTTPCORE_TO_HTTPX:
            if isinstance(error, core_type):
                raise httpx_type(str(error)) from error
        raise


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport over httpcore's connection pool with PublicOnlyBackend as its
    network backend: the custom-transport shape httpx documents, through public APIs only
    (httpx's own HTTPTransport takes no network backend)."""

    def __init__(self, *, allow_private: bool, trusted: frozenset[tuple[str, int]]) -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PublicOnlyBackend(allow_private=allow_private, trusted=trusted),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            core_response = self._pool.handle_request(core_request)
        assert isinstance(core_response.stream, Iterable)
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_ResponseStream(core_response.stream),
            extensions=core_response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def _build_client(*, allow_private: bool, trusted: frozenset[tuple[str, int]]) -> httpx.Client:
    # Cookies one server sets must not follow the next user's request to it.
    no_cookies = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return httpx.Client(
        transport=GuardedTransport(allow_private=allow_private, trusted=trusted),
        # Proxies from the environment would bypass the address check, and .netrc would add
        # credentials to downloads.
        trust_env=False,
        cookies=no_cookies,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


_client_lock = threading.Lock()
_client: tuple[tuple[Any, ...], httpx.Client] | None = None


def http_client() -> httpx.Client:
    """The process's pooled client, made on first use.

    A forked child makes its own, as connections inherited from the parent would be shared
    with it. So does a change of the address policy (in tests): a pooled connection was
    checked against the policy it was opened under.
    """
    global _client
    allow_private = bool(settings.IMAGES_API_ALLOW_PRIVATE_URLS)
    trusted = trusted_origins()
    key = (os.getpid(), allow_private, trusted)
    current = _client
    if current is not None and current[0] == key:
        return current[1]
    with _client_lock:
        if _client is None or _client[0] != key:
            stale = _client
            _client = (key, _build_client(allow_private=allow_private, trusted=trusted))
            if stale is not None and stale[0][0] == key[0]:
                stale[1].close()
        return _client[1]


def _reset_after_fork() -> None:
    global _client_lock, _client
    # The parent's lock may have been held by a thread that does not exist in the child.
    _client_lock = threading.Lock()
    _client = None


os.register_at_fork(after_in_child=_reset_after_fork)
