"""A fake images API on real loopback HTTP: the relay's contract, and its faults on demand.

In tests, the `fake_images_api` fixture (tests/fake_images_api.py) starts it (one server per
session, reset per test) and points the IMAGES_API_* settings at it; `bench_pipeline` runs it
in-process. Standalone, for browser tests with a real worker or to try Atelier without a key:

    python -m gallery.fake_images_api --port 8765 [--key sk-...] [--latency SECONDS]

prints "Fake images API listening on http://127.0.0.1:8765" and serves a happy relay.

A fault is chosen per request by the prompt text, so a browser can trigger one: a prompt with
"[fault:NAME]" gets fault NAME; "[fault:NAMExN]" gets it for the first N requests with that
prompt only, then a happy answer (e.g. "[fault:500x1]": one 500, then images). Tests can also
script exact replies with `script(Reply(...))`, which win over the prompt.

API faults:
    500, 503-zh (无可用渠道), 502-html, 429 (Retry-After: 1), 429-ms (retry-after-ms: 50),
    429-reset (x-ratelimit-reset-requests: 0.05s), 429-long (Retry-After: 3600),
    429-quota, 403-quota (Chinese), 401 (echoes the key it got), 401-zh (无效的令牌),
    400-policy, 400-moderation, 400-zh ({"error": "<text>", "code": ...}), 422-xai,
    slow=SECONDS, truncated, cut (connection closed mid-body), empty, data-null, html-200,
    error-200, no-channel-200 (无可用渠道 in a 200), no-channel-200-text, 422-fastapi (a list
    in "detail"), 400-problem (problem+json with validation[]), fewer (n-1 images)
Answer quirks: b64-space ("b64_json " keys), b64-datauri (data: prefix, wrapped lines),
    bad-b64 (image 0 undecodable), no-image (image 0 has neither url nor b64_json),
    b64-and-url (with response_format b64_json: every item has both, image 0's base64 broken),
    b64-junk-and-url (the same, image 0's base64 decoding to bytes that are not an image)
Download faults (image 0 only, the others download fine):
    expired (404), huge (a declared length past any cap), huge-chunked (no length),
    not-image, jpeg-as-png, flaky-download (500 once, then the image), slow-download=SECONDS,
    redirect-ok, redirect-private (to 169.254.169.254), redirect-10 (to 10.0.0.1),
    redirect-loop (more redirects than allowed)

Also: GET /health, GET /__requests (what it received, as JSON), POST /__reset.
`--latency SECONDS` (or `FakeImagesAPI(latency=...)`) makes every generation request wait that
long, as a real model does; `generation_intervals` / `max_in_flight()` tell how many requests
the server was answering at once (evidence of a worker's concurrency).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import re
import signal
import struct
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FAKE_API_KEY = "sk-test-atelier-0123456789abcdefSECRET"
# Generation calls are answered under any root: a relay's may be /v1, /api/openai/v1, ...
GENERATIONS_SUFFIX = "/images/generations"
FAULT_PATTERN = re.compile(r"\[fault:([a-z0-9\-]+?)(?:=(\d+(?:\.\d+)?))?(?:x(\d+))?\]")
HUGE_DEFAULT_BYTES = 64 * 2**20
MAX_SIDE = 2048

# An 8x8 baseline JPEG (made once with Pillow; kept as bytes so tests need no Pillow).
TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300100b0c0e0c0a100e0d0e1211101318281a18"
    "1616183123251d283a333d3c3933383740485c4e404457453738506d51575f626768673e4d71797064785c"
    "656763ffdb0043011112121815182f1a1a2f634238426363636363636363636363636363636363636363"
    "636363636363636363636363636363636363636363636363636363636363ffc0001108000800080301220"
    "0021101031101ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400"
    "b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082"
    "342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a5354"
    "55565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4"
    "a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9"
    "eaf1f2f3f4f5f6f7f8f9faffc4001f0100030101010101010101010000000000000102030405060708090a"
    "0bffc400b51100020102040403040705040400010277000102031104052131061241510761711322328108"
    "144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35363738393a434445464748"
    "494a535455565758595a636465666768696a737475767778797a82838485868788898a9293949596979899"
    "9aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7"
    "e8e9eaf2f3f4f5f6f7f8f9faffda000c03010002110311003f00cba28a2b88fa63ffd9"
)
NOT_AN_IMAGE = b"this is not an image, only text that says it is one\n"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_png(width: int, height: int, rgb: tuple[int, int, int] = (90, 140, 200)) -> bytes:
    """A real RGB PNG with a vertical gradient, built with zlib and struct alone."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    rows = []
    for y in range(height):
        shade = 0.55 + 0.45 * (y / max(1, height - 1))
        pixel = bytes(min(255, round(channel * shade)) for channel in rgb)
        rows.append(b"\x00" + pixel * width)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 6))
        + chunk(b"IEND", b"")
    )


def png_dimensions(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR (what the tests check without Pillow)."""
    assert data.startswith(PNG_SIGNATURE), data[:16]
    return struct.unpack(">II", data[16:24])


def _seed_colour(seed: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(seed.encode()).digest()
    return (64 + digest[0] % 160, 64 + digest[1] % 160, 64 + digest[2] % 160)


@dataclass
class Reply:
    """A scripted answer to the next generation request."""

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "application/json"
    # Sent with Transfer-Encoding: chunked (no Content-Length), still in one write.
    chunked: bool = False


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class Fault:
    name: str
    value: float | None


class _QuietServer(ThreadingHTTPServer):
    # Many workers connect at once in the throughput tests and benchmark; the default backlog
    # of 5 drops connections past it, which the client only retries after a second.
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer (a cap reached, a timeout) is part of the tests.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeImagesAPI:
    """The server, its recorded requests, and its script."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        expected_key: str | None = None,
        latency: float = 0.0,
    ) -> None:
        self.expected_key = expected_key
        # Every generation request waits this long before its answer (as a real model does).
        self.latency = latency
        self._intervals: list[tuple[float, float]] = []
        # More keys answered as valid (a second provider's, in tests); emptied by reset().
        self.other_keys: set[str] = set()
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._script: list[Reply] = []
        self._fault_counts: dict[tuple[str, str], int] = {}
        self._path_counts: dict[str, int] = {}
        self._sequence = itertools.count(1)
        self._server = _QuietServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The server's root, where its images are served."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_base_url(self) -> str:
        """What IMAGES_API_BASE_URL is set to, as for OpenAI: the root plus /v1. The fake
        answers generation calls under any root ending in /images/generations."""
        return f"{self.base_url}/v1"

    def start(self) -> FakeImagesAPI:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-images-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._intervals.clear()
            self._script.clear()
            self._fault_counts.clear()
            self._path_counts.clear()
            self._sequence = itertools.count(1)
            self.other_keys.clear()

    def script(self, *replies: Reply) -> None:
        """Answer the next generation requests with these, in order."""
        with self._lock:
            self._script.extend(replies)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def generation_requests(self) -> list[RecordedRequest]:
        return [
            r for r in self.requests if r.method == "POST" and r.path.endswith(GENERATIONS_SUFFIX)
        ]

    @property
    def generation_intervals(self) -> list[tuple[float, float]]:
        """(received, answered) monotonic times of each generation request, in answer order."""
        with self._lock:
            return list(self._intervals)

    def max_in_flight(self) -> int:
        """The most generation requests the server was answering at one moment."""
        events = sorted(
            [(start, 1) for start, _ in self.generation_intervals]
            + [(end, -1) for _, end in self.generation_intervals]
        )
        in_flight = most = 0
        for _, change in events:
            in_flight += change
            most = max(most, in_flight)
        return most

    def downloads(self, prefix: str = "/") -> list[RecordedRequest]:
        """GETs of image (and redirect) paths starting with `prefix`."""
        return [
            r
            for r in self.requests
            if r.method == "GET" and r.path.startswith(prefix) and not r.path.startswith("/__")
        ]

    # -- what the handler calls --------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _record_interval(self, received: float) -> None:
        with self._lock:
            self._intervals.append((received, time.monotonic()))

    def _next_scripted(self) -> Reply | None:
        with self._lock:
            return self._script.pop(0) if self._script else None

    def _count_path(self, path: str) -> int:
        with self._lock:
            self._path_counts[path] = self._path_counts.get(path, 0) + 1
            return self._path_counts[path]

    def _active_fault(self, prompt: str) -> Fault | None:
        match = FAULT_PATTERN.search(prompt)
        if not match:
            return None
        name, value, times = match.group(1), match.group(2), match.group(3)
        if times is not None:
            with self._lock:
                seen = self._fault_counts.get((name, prompt), 0) + 1
                self._fault_counts[(name, prompt)] = seen
            if seen > int(times):
                return None
        return Fault(name, float(value) if value else None)

    def answer_generation(self, body: Any, authorization: str) -> Reply:
        if self.latency:
            time.sleep(self.latency)
        scripted = self._next_scripted()
        if scripted is not None:
            return scripted
        sequence = next(self._sequence)
        request_id = f"req_fake_{sequence:06d}"
        given_key = authorization.removeprefix("Bearer ").strip()
        if self.expected_key is not None and given_key not in {self.expected_key, *self.other_keys}:
            return _invalid_key(given_key, request_id)
        if not isinstance(body, dict) or not isinstance(body.get("prompt"), str):
            return Reply(
                400,
                {"error": {"message": "prompt is required", "type": "invalid_request_error"}},
                headers={"x-request-id": request_id},
            )
        fault = self._active_fault(body["prompt"])
        reply = _fault_reply(fault, given_key, request_id) if fault else None
        if reply is not None:
            return reply
        return self._happy(body, fault, sequence, request_id)

    def _happy(
        self, body: dict[str, Any], fault: Fault | None, sequence: int, request_id: str
    ) -> Reply:
        name = fault.name if fault else ""
        if name == "slow":
            time.sleep(fault.value or 1.0)
        model = str(body.get("model") or "")
        prompt = body["prompt"]
        n = int(body.get("n") or 1)
        count = n - 1 if name == "fewer" else n
        default_format = "b64_json" if model.startswith("gpt-image") else "url"
        response_format = str(body.get("response_format") or default_format).strip()
        width, height = _dimensions(str(body.get("size") or ""))
        seed = hashlib.sha256(f"{sequence}:{prompt}".encode()).hexdigest()[:12]
        items = []
        for index in range(count):
            name_here = name if index == 0 else ""
            image_path = f"/images/{seed}-{index}-{width}x{height}.png"
            if response_format == "b64_json":
                encoded = base64.b64encode(
                    make_png(width, height, _seed_colour(f"{seed}-{index}"))
                ).decode()
                item: dict[str, Any] = {"b64_json": encoded}
                if name == "b64-space":
                    item = {"b64_json ": encoded}
                elif name == "b64-datauri":
                    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
                    item = {"b64_json": f"data:image/png;base64,{wrapped}"}
                elif name_here == "bad-b64":
                    item = {"b64_json": "%%% this is not base64 %%%"}
                elif name in ("b64-and-url", "b64-junk-and-url"):
                    # Both forms: image 0's base64 is broken (or decodes to what is not an
                    # image), its url works.
                    if index == 0 and name == "b64-and-url":
                        item = {"b64_json": "%%% this is not base64 %%%"}
                    elif index == 0:
                        item = {"b64_json": base64.b64encode(NOT_AN_IMAGE).decode()}
                    item["url"] = self.base_url + image_path
            else:
                item = {"url": self.base_url + _download_path(name_here, fault, image_path)}
            if name_here == "no-image":
                item = {}
            if model == "dall-e-3":
                item["revised_prompt"] = f"A detailed picture of {prompt}"
            items.append(item)
        if model.startswith("gpt-image"):
            usage: dict[str, Any] = {
                "input_tokens": len(prompt.split()),
                "output_tokens": 4160 * count,
                "total_tokens": len(prompt.split()) + 4160 * count,
                "input_tokens_details": {"text_tokens": len(prompt.split()), "image_tokens": 0},
            }
        else:
            usage = {
                "generated_images": count,
                "output_tokens": 16384 * count,
                "total_tokens": 16384 * count,
            }
        payload = {"created": int(time.time()), "data": items, "usage": usage}
        return Reply(200, payload, headers={"x-request-id": request_id})

    def answer_download(self, path: str, query: dict[str, list[str]]) -> Reply | str:
        """A Reply, or "huge"/"huge-chunked" for the streaming handlers."""
        if path == "/health":
            return Reply(200, body=b"ok\n", content_type="text/plain")
        if path == "/redirect":
            return Reply(302, body=b"", headers={"Location": query.get("to", ["/"])[0]})
        loop = re.fullmatch(r"/redirect-loop/(\d+)", path)
        if loop:
            return Reply(302, body=b"", headers={"Location": f"/redirect-loop/{int(loop[1]) + 1}"})
        match = re.fullmatch(
            r"/images/(?:(?P<kind>[a-z\-]+)/(?:(?P<value>[\d.]+)/)?)?"
            r"(?P<seed>[0-9a-f]+)-(?P<index>\d+)-(?P<w>\d+)x(?P<h>\d+)\.png",
            path,
        )
        if not match:
            return Reply(
                404, body=b"<Error><Code>NoSuchKey</Code></Error>", content_type="text/xml"
            )
        kind = match["kind"] or ""
        if kind == "expired":
            return Reply(
                404, body=b"<Error><Code>NoSuchKey</Code></Error>", content_type="text/xml"
            )
        if kind in ("huge", "huge-chunked"):
            return kind
        if kind == "not-image":
            return Reply(200, body=NOT_AN_IMAGE, content_type="image/png")
        if kind == "jpeg":
            return Reply(200, body=TINY_JPEG, content_type="image/png")
        if kind == "flaky" and self._count_path(path) == 1:
            return Reply(500, body=b"<html><title>500</title></html>", content_type="text/html")
        if kind == "slow":
            time.sleep(float(match["value"] or 1))
        png = make_png(
            int(match["w"]), int(match["h"]), _seed_colour(f"{match['seed']}-{match['index']}")
        )
        return Reply(200, body=png, content_type="image/png")

    def as_json(self) -> list[dict[str, Any]]:
        return [
            {
                "method": r.method,
                "path": r.path,
                "headers": r.headers,
                "json": _json_or_none(r.body),
                "body_bytes": len(r.body),
            }
            for r in self.requests
        ]


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _dimensions(size: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)", size.strip())
    if not match:
        return 256, 256
    return min(MAX_SIDE, int(match[1])), min(MAX_SIDE, int(match[2]))


def _download_path(name: str, fault: Fault | None, image_path: str) -> str:
    rest = image_path.removeprefix("/images/")
    value = f"{fault.value:g}/" if fault and fault.value is not None else ""
    match name:
        case "expired" | "not-image" | "huge" | "huge-chunked":
            return f"/images/{name}/{rest}"
        case "jpeg-as-png":
            return f"/images/jpeg/{rest}"
        case "flaky-download":
            return f"/images/flaky/{rest}"
        case "slow-download":
            return f"/images/slow/{value or '1/'}{rest}"
        case "redirect-ok":
            return f"/redirect?to={image_path}"
        case "redirect-private":
            return "/redirect?to=http://169.254.169.254/latest/meta-data/iam/credentials.png"
        case "redirect-10":
            return "/redirect?to=http://10.0.0.1/image.png"
        case "redirect-loop":
            return "/redirect-loop/0"
    return image_path


def _invalid_key(given_key: str, request_id: str) -> Reply:
    # OpenAI echoes (a masked form of) the key it got; this echoes all of it, the worst case.
    return Reply(
        401,
        {
            "error": {
                "message": f"Incorrect API key provided: {given_key}. You can find your API key "
                "at https://platform.openai.com/account/api-keys.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        },
        headers={"x-request-id": request_id},
    )


HTML_502 = b"""<html>
<head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body>
</html>
"""


def _fault_reply(fault: Fault, given_key: str, request_id: str) -> Reply | None:
    """The reply for an API fault, or None for faults that shape a happy answer."""
    ids = {"x-request-id": request_id}

    def error(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
        return Reply(status, payload, headers={**ids, **(headers or {})})

    match fault.name:
        case "500":
            return error(
                500, {"error": {"message": "Internal server error", "type": "server_error"}}
            )
        case "503-zh":
            message = (
                "当前分组 default 下对于模型 grok-3-image 无可用渠道 (request id: 20260325fake0001)"
            )
            return Reply(503, {"error": {"message": message, "type": "new_api_error"}})
        case "502-html":
            return Reply(502, body=HTML_502, content_type="text/html", headers=ids)
        case "429":
            return error(429, _rate_limit_payload(), {"Retry-After": "1"})
        case "429-ms":
            return error(429, _rate_limit_payload(), {"retry-after-ms": "50"})
        case "429-reset":
            return error(429, _rate_limit_payload(), {"x-ratelimit-reset-requests": "0.05s"})
        case "429-long":
            return error(429, _rate_limit_payload(), {"Retry-After": "3600"})
        case "429-quota":
            message = "You exceeded your current quota, please check your plan and billing details."
            payload = {
                "error": {
                    "message": message,
                    "type": "insufficient_quota",
                    "code": "insufficient_quota",
                }
            }
            return error(429, payload)
        case "403-quota":
            message = "用户额度不足, 剩余额度: $0.012"
            payload = {
                "error": {
                    "message": message,
                    "type": "new_api_error",
                    "code": "insufficient_user_quota",
                }
            }
            return error(403, payload)
        case "401":
            return _invalid_key(given_key, request_id)
        case "401-zh":
            return error(401, {"error": {"message": "无效的令牌", "type": "new_api_error"}})
        case "400-policy":
            message = (
                "Your request was rejected as a result of our safety system. Your prompt may "
                "contain text that is not allowed by our safety system."
            )
            payload = {
                "error": {
                    "message": message,
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "content_policy_violation",
                }
            }
            return error(400, payload)
        case "400-moderation":
            payload = {
                "error": {
                    "message": "Your request was rejected by the safety system.",
                    "type": "image_generation_user_error",
                    "code": "moderation_blocked",
                }
            }
            return error(400, payload)
        case "400-zh":
            payload = {
                "error": "提示词包含敏感内容\uff0c请修改后重试",
                "code": "sensitive_words_detected",
            }
            return error(400, payload)
        case "422-xai":
            payload = {
                "code": "Client specified an invalid argument",
                "error": "Argument not supported: size",
            }
            return error(422, payload)
        case "truncated":
            return Reply(
                200, body=b'{"created": 1773127037, "data": [{"url": "https://pub-', headers=ids
            )
        case "cut":
            return Reply(
                200, body=b'{"created": 1773127037, "data": [', headers={**ids, "x-cut": "1"}
            )
        case "empty":
            return Reply(200, {"created": 1773127037, "data": [], "usage": None}, headers=ids)
        case "data-null":
            return Reply(200, {"created": 1773127037, "data": None}, headers=ids)
        case "html-200":
            page = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head></html>"
            return Reply(200, body=page, content_type="text/html", headers=ids)
        case "error-200":
            payload = {"error": {"message": "upstream said no", "type": "upstream_error"}}
            return Reply(200, payload, headers=ids)
        case "no-channel-200":
            message = "当前分组 default 下对于模型 grok-3-image 无可用渠道"
            return Reply(200, {"error": {"message": message, "type": "new_api_error"}}, headers=ids)
        case "no-channel-200-text":
            return Reply(200, body="无可用渠道".encode(), content_type="text/plain", headers=ids)
        case "422-fastapi":
            payload = {
                "detail": [
                    {
                        "type": "literal_error",
                        "loc": ["body", "size"],
                        "msg": "Input should be '960x960' or '720x1280'",
                    }
                ]
            }
            return error(422, payload)
        case "400-problem":
            payload = {
                "type": "https://relay.example/problems/validation",
                "title": "Your request parameters didn't validate.",
                "status": 400,
                "validation": [
                    {"field": "aspect_ratio", "message": "must have as many entries as n"}
                ],
            }
            return Reply(400, payload, content_type="application/problem+json", headers=ids)
    return None


def _rate_limit_payload() -> dict[str, Any]:
    return {
        "error": {
            "message": "Rate limit reached for images per minute. Please try again later.",
            "type": "requests",
            "code": "rate_limit_exceeded",
        }
    }


def _handler_for(api: FakeImagesAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeImagesAPI/1"
        # Streamed faults write in pieces; those must not wait on Nagle either.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the tests read recorded requests, not a log

        def _read_body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _record(self, body: bytes) -> None:
            api._record(
                RecordedRequest(
                    method=self.command,
                    path=urlsplit(self.path).path,
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=body,
                )
            )

        def _send(self, reply: Reply) -> None:
            if reply.delay:
                time.sleep(reply.delay)
            if reply.body is not None:
                body = reply.body
            else:
                body = json.dumps(reply.json, ensure_ascii=False).encode()
            cut = reply.headers.get("x-cut") == "1"
            if reply.chunked:
                length = ("Transfer-Encoding", "chunked")
                body = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
            else:
                # A cut answer declares more than it sends, then hangs up.
                length = ("Content-Length", str(len(body) + (1000 if cut else 0)))
            headers = [
                ("Content-Type", reply.content_type),
                length,
                *((key, value) for key, value in reply.headers.items() if key != "x-cut"),
            ]
            if cut:
                headers.append(("Connection", "close"))
                self.close_connection = True
            try:
                self._write_whole(reply.status, headers, body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _write_whole(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            """Status line, headers and body in ONE write: send_response/end_headers write the
            head on its own, and a small body then waits on Nagle and delayed ACK (~40 ms)."""
            self.log_request(status)
            lines = [
                f"{self.protocol_version} {status} {self.responses.get(status, ('',))[0]}",
                f"Server: {self.version_string()}",
                f"Date: {self.date_time_string()}",
                *(f"{key}: {value}" for key, value in headers),
            ]
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
            self.wfile.write(head + body)

        def _stream(self, total: int, *, declare_length: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            if declare_length:
                self.send_header("Content-Length", str(total))
            else:
                self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            chunk = PNG_SIGNATURE + b"\x00" * (64 * 1024 - len(PNG_SIGNATURE))
            sent = 0
            try:
                while sent < total:
                    piece = chunk[: total - sent]
                    self.wfile.write(piece)
                    sent += len(piece)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_POST(self) -> None:
            body = self._read_body()
            self._record(body)
            path = urlsplit(self.path).path
            if path == "/__reset":
                api.reset()
                self._send(Reply(204, body=b""))
            elif path.endswith(GENERATIONS_SUFFIX):
                received = time.monotonic()
                parsed = _json_or_none(body)
                self._send(api.answer_generation(parsed, self.headers.get("Authorization", "")))
                api._record_interval(received)
            else:
                self._send(Reply(404, {"error": {"message": f"no route {path}"}}))

        def do_GET(self) -> None:
            self._record(b"")
            parts = urlsplit(self.path)
            if parts.path == "/__requests":
                self._send(Reply(200, api.as_json()))
                return
            query = parse_qs(parts.query)
            answer = api.answer_download(parts.path, query)
            if isinstance(answer, str):
                total = int(query.get("bytes", [HUGE_DEFAULT_BYTES])[0])
                self._stream(total, declare_length=answer == "huge")
            else:
                self._send(answer)

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake images API for tests and demos.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--key", default=None, help="answer 401 to any other bearer key")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds every generation request waits"
    )
    args = parser.parse_args(argv)
    api = FakeImagesAPI(
        host=args.host, port=args.port, expected_key=args.key, latency=args.latency
    ).start()
    print(f"Fake images API listening on {api.base_url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        api.stop()


if __name__ == "__main__":
    main()
