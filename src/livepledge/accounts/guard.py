"""Login and registration throttling (docs/security.md, "Throttles").

Failed logins are counted per account and per client address over a window; once either budget
is used up, further attempts are answered 429 with Retry-After *before* the password is checked
(so guessing cannot go on behind the 429), until the window ends. Windows end on their own: the
real owner is never locked out for longer than one window. Registrations count against the
address too, since a 409 `login_taken` tells which logins exist.

The counters live in the runtime's `Throttle`: this process's memory when embedded, Redis when
scaled out, so every worker sees the same counts."""

from __future__ import annotations

from dataclasses import dataclass

from livepledge.infra.problems import Problem
from livepledge.infra.throttle import Throttle


@dataclass(frozen=True)
class LoginPolicy:
    window_seconds: float = 900.0
    failures_per_account: int = 10
    failures_per_address: int = 50
    registrations_per_address: int = 20


def _refused(wait: float) -> Problem:
    seconds = max(1, int(wait + 0.999))
    return Problem("rate_limited",
                   f"尝试次数过多，请 {seconds} 秒后再试 / too many attempts; try again in "
                   f"{seconds} s", retry_after=wait)


class LoginGuard:
    def __init__(self, throttle: Throttle, policy: LoginPolicy) -> None:
        self.throttle = throttle
        self.policy = policy

    @staticmethod
    def _keys(login: str, address: str) -> tuple[str, str]:
        return f"login:acct:{login.casefold()}", f"login:addr:{address}"

    async def check_login(self, login: str, address: str) -> None:
        """Raise 429 if this account or this address has used up its failures."""
        account, client = self._keys(login, address)
        wait = max(await self.throttle.blocked(account, limit=self.policy.failures_per_account),
                   await self.throttle.blocked(client, limit=self.policy.failures_per_address))
        if wait > 0:
            raise _refused(wait)

    async def login_failed(self, login: str, address: str) -> None:
        account, client = self._keys(login, address)
        window = self.policy.window_seconds
        await self.throttle.hit(account, limit=self.policy.failures_per_account, window=window)
        await self.throttle.hit(client, limit=self.policy.failures_per_address, window=window)

    async def check_registration(self, address: str) -> None:
        """Count one registration attempt from this address; 429 once over its budget."""
        wait = await self.throttle.hit(f"register:addr:{address}",
                                       limit=self.policy.registrations_per_address,
                                       window=self.policy.window_seconds)
        if wait > 0:
            raise _refused(wait)
