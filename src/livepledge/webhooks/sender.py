"""Sending one webhook request, to an address checked after DNS resolution.

The host is resolved here, every address it resolves to is checked (rules.address_problem),
and the request goes to the checked address itself — the URL's host is kept in the Host header
and, for https, as the TLS server name, so the certificate is still verified against it. A name
that resolves to a public address at registration and to 127.0.0.1 a second later (DNS
rebinding) is therefore refused at delivery. No proxy from the environment, no redirects
(a 3xx is a failed attempt), a total time limit, and only the first bytes of the answer read.

`Sender` is the interface (like orders/payments.py's provider): the worker takes any object
with `send`, tests give it a scripted one."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx

from livepledge.webhooks import rules

EXCERPT_BYTES = 1024
Resolver = Callable[[str, int], Awaitable[list[rules.Address]]]


@dataclass(frozen=True)
class Outcome:
    status_code: int | None  # None: no HTTP answer (refused address, timeout, connection error)
    error: str | None
    duration_ms: int
    excerpt: str
    retry_after: float | None = None  # seconds, from a Retry-After header


class Sender(Protocol):
    async def send(self, url: str, headers: dict[str, str], body: bytes) -> Outcome: ...

    async def close(self) -> None: ...


class AddressRefused(Exception):
    pass


async def resolve(host: str, port: int) -> list[rules.Address]:
    """Every address the name resolves to (A and AAAA)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[rules.Address] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in found:
            found.append(ip)
    return found


@dataclass(frozen=True)
class AddressPolicy:
    allow_private: bool = False  # tests only (LIVEPLEDGE_WEBHOOK_ALLOW_PRIVATE)
    blocked: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network] = ()

    def problem(self, ip: rules.Address) -> str | None:
        if self.allow_private:
            return None
        return rules.address_problem(ip, self.blocked)


async def checked_addresses(target: rules.Target, policy: AddressPolicy,
                            resolver: Resolver = resolve) -> list[rules.Address]:
    """The addresses to connect to, all allowed; AddressRefused names the first that is not,
    or says the name does not resolve."""
    if target.ip is not None:
        addresses = [target.ip]
    else:
        try:
            addresses = await resolver(target.host, target.port)
        except (OSError, UnicodeError) as exc:
            raise AddressRefused(f"无法解析域名 / cannot resolve {target.host}") from exc
        if not addresses:
            raise AddressRefused(f"无法解析域名 / cannot resolve {target.host}")
    for ip in addresses:
        if (problem := policy.problem(ip)) is not None:
            raise AddressRefused(f"{rules.refused_words(problem)} ({ip})")
    return addresses


def pinned(url: str, target: rules.Target, ip: rules.Address) -> tuple[httpx.URL, str]:
    """The URL with its host replaced by the checked address, and the Host header value."""
    original = httpx.URL(url)
    default = 443 if target.scheme == "https" else 80
    host_header = target.host if target.ip is None else str(original.host)
    if isinstance(target.ip, ipaddress.IPv6Address):
        host_header = f"[{target.ip}]"
    if target.port != default:
        host_header = f"{host_header}:{target.port}"
    return original.copy_with(host=str(ip)), host_header


class HttpSender:
    def __init__(self, *, timeout_seconds: float, policy: AddressPolicy,
                 resolver: Resolver = resolve, user_agent: str = "Livepledge-Webhooks/1") -> None:
        self.timeout = timeout_seconds
        self.policy = policy
        self.resolver = resolver
        self.user_agent = user_agent
        self.client = httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False,
                                        trust_env=False,
                                        limits=httpx.Limits(max_connections=100,
                                                            max_keepalive_connections=20))

    async def close(self) -> None:
        await self.client.aclose()

    async def send(self, url: str, headers: dict[str, str], body: bytes) -> Outcome:
        started = time.perf_counter()

        def done(status: int | None, error: str | None, excerpt: str = "",
                 retry_after: float | None = None) -> Outcome:
            return Outcome(status, error[:200] if error else None,
                           int((time.perf_counter() - started) * 1000), excerpt, retry_after)

        target, problem = rules.parse_url(url, require_https=False)
        if target is None:
            return done(None, problem)
        try:
            async with asyncio.timeout(self.timeout):
                addresses = await checked_addresses(target, self.policy, self.resolver)
                request_url, host = pinned(url, target, addresses[0])
                extensions = {"sni_hostname": target.host} if (
                    target.scheme == "https" and target.ip is None) else {}
                async with self.client.stream(
                        "POST", request_url, content=body, extensions=extensions,
                        headers={**headers, "Host": host, "Content-Type": "application/json",
                                 "User-Agent": self.user_agent}) as response:
                    excerpt = bytearray()
                    async for chunk in response.aiter_raw():
                        excerpt += chunk
                        if len(excerpt) >= EXCERPT_BYTES:
                            break
                    return done(response.status_code, None,
                                bytes(excerpt[:EXCERPT_BYTES]).decode("utf-8", "replace"),
                                rules.retry_after_seconds(response.headers.get("retry-after")))
        except AddressRefused as exc:
            return done(None, str(exc))
        except TimeoutError:
            return done(None, f"超时 / timed out after {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return done(None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        except OSError as exc:
            return done(None, f"{type(exc).__name__}: {exc}")
