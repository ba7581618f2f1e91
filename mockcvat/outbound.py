"""HTTP requests mockcvat sends out: webhook deliveries, as CVAT's worker sends them.

CVAT (``cvat/apps/webhooks/utils.py: perform_webhook_request``) posts with ``requests``:
``session.post(target_url, json=payload, verify=enable_ssl, headers=..., timeout=...,
stream=True)``, follows redirects, reads at most 1 MiB + 1 byte of the (decoded) answer and
keeps it only if it is no longer than 1 MiB; a connection error is recorded as 502 with the
exception's text, a timeout as 504. This module does the same with the standard library, and
sends the headers ``requests`` sends. Pure: no database, no server state.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import time
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

RESPONSE_SIZE_LIMIT = 1024 * 1024  # _RESPONSE_SIZE_LIMIT
CONNECT_TIMEOUT, READ_TIMEOUT = 3.0, 10.0  # _WEBHOOK_TIMEOUT = (3, 10); 2.26: 10 for both
USER_AGENT = "python-requests/2.32.3"  # the requests release CVAT pins
MAX_REDIRECTS = 30  # requests' default
BAD_GATEWAY, GATEWAY_TIMEOUT = 502, 504


@dataclass(frozen=True)
class Outcome:
    status_code: int
    response: str  # the body (empty when over the limit), or the error's text
    duration_ms: int


def body_of(payload: Any) -> bytes:
    """What ``requests`` sends for ``json=payload`` (and what CVAT signs)."""
    return json.dumps(payload).encode("utf-8")


def headers_for(body: bytes, signature: str | None) -> dict[str, str]:
    headers = {
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "gzip, deflate",
        "Accept": "*/*",
        "Connection": "keep-alive",
        "Content-Length": str(len(body)),
        "Content-Type": "application/json",
    }
    if signature is not None:
        headers["X-Signature-256"] = signature
    return headers


def blocked_address(url: str) -> str | None:
    """CVAT's SSRF protection (its smokescreen egress proxy denies what is not global
    unicast): the reason a target is refused, or None."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return None  # unresolvable: the request itself fails
    for text in sorted(addresses):
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not address.is_global:
            return (f"Egress proxying is denied to host '{host}': The destination address "
                    f"({address}) was denied by rule 'Deny: Not Global Unicast'")
    return None


def post(url: str, body: bytes, headers: dict[str, str], *, verify: bool,
         connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = READ_TIMEOUT,
         ssrf_checks: bool = False) -> Outcome:
    started = time.perf_counter()
    status, text = _post(url, body, headers, verify=verify, connect_timeout=connect_timeout,
                         read_timeout=read_timeout, ssrf_checks=ssrf_checks)
    return Outcome(status, text, int((time.perf_counter() - started) * 1000))


def _pool(parts: Any) -> str:
    kind = "HTTPSConnectionPool" if parts.scheme == "https" else "HTTPConnectionPool"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{kind}(host='{parts.hostname}', port={port})"


def _post(url: str, body: bytes, headers: dict[str, str], *, verify: bool,
          connect_timeout: float, read_timeout: float, ssrf_checks: bool) -> tuple[int, str]:
    method = "POST"
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if ssrf_checks and (reason := blocked_address(url)):
            return BAD_GATEWAY, (f"{_pool(parts)}: Max retries exceeded with url: {path} "
                                 f"(Caused by ProxyError('Unable to connect to proxy', "
                                 f"OSError('Tunnel connection failed: 403 {reason}')))")
        try:
            connection = _connect(parts, verify, connect_timeout)
        except TimeoutError:
            return BAD_GATEWAY, (  # requests' ConnectTimeout is a ConnectionError
                f"{_pool(parts)}: Max retries exceeded with url: {path} (Caused by "
                f"ConnectTimeoutError('Connection to {parts.hostname} timed out. "
                f"(connect timeout={connect_timeout:g})'))")
        except (OSError, ssl.SSLError) as exc:
            return BAD_GATEWAY, (
                f"{_pool(parts)}: Max retries exceeded with url: {path} (Caused by "
                f"NewConnectionError('Failed to establish a new connection: {exc}'))")
        try:
            connection.sock.settimeout(read_timeout)
            send_headers = dict(headers)
            if method == "GET":
                send_headers.pop("Content-Length", None)
                send_headers.pop("Content-Type", None)
            send_headers["Host"] = parts.netloc.rsplit("@", 1)[-1]
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in send_headers.items():
                connection.putheader(name, value)
            connection.endheaders(body if method == "POST" else None)
            response = connection.getresponse()
            location = response.getheader("Location")
            if response.status in (301, 302, 303, 307, 308) and location:
                response.read()
                url = urljoin(url, location)
                if response.status in (301, 302, 303):
                    method = "GET"  # requests' rebuild_method
                continue
            raw = _read_limited(response)
            return response.status, _text(raw)
        except TimeoutError:
            return GATEWAY_TIMEOUT, (f"{_pool(parts)}: Read timed out. "
                                     f"(read timeout={read_timeout:g})")
        except (OSError, http.client.HTTPException) as exc:
            return BAD_GATEWAY, (f"('Connection aborted.', {exc!r})")
        finally:
            connection.close()
    return BAD_GATEWAY, f"Exceeded {MAX_REDIRECTS} redirects."


def _connect(parts: Any, verify: bool, timeout: float) -> http.client.HTTPConnection:
    host, port = parts.hostname or "", parts.port
    if parts.scheme == "https":
        context = ssl.create_default_context()
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    connection.connect()
    return connection


def _read_limited(response: http.client.HTTPResponse) -> bytes | None:
    """At most the limit + 1 decoded bytes (``response.raw.read(limit + 1,
    decode_content=True)``); None when nothing could be read."""
    encoding = (response.getheader("Content-Encoding") or "").lower()
    if encoding not in ("gzip", "deflate"):
        return response.read(RESPONSE_SIZE_LIMIT + 1)
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    decoder = zlib.decompressobj(wbits)
    out = b""
    while len(out) <= RESPONSE_SIZE_LIMIT:
        chunk = response.read(64 * 1024)
        if not chunk:
            out += decoder.flush()
            break
        out += decoder.decompress(chunk, RESPONSE_SIZE_LIMIT + 1 - len(out))
    return out[:RESPONSE_SIZE_LIMIT + 1]


def _text(raw: bytes | None) -> str:
    if raw is None or len(raw) > RESPONSE_SIZE_LIMIT:
        return ""
    return raw.decode("utf-8", errors="replace")
