"""The dashboard's login: Panel's basic login page (our self-contained template: nothing from a CDN), with the token
compared in constant time, failed logins logged, and clients that keep guessing slowed down.

After :data:`FREE_FAILURES` wrong passwords from one client address, each further attempt must wait an
exponentially growing time (1 s, 2 s, 4 s, ... capped at :data:`MAX_LOCKOUT_S`); an attempt inside that wait is
answered ``429 Too Many Requests`` with ``Retry-After`` and the password is not even compared. A correct login
clears the client's record.

>>> throttle = Throttle()
>>> for _ in range(FREE_FAILURES):
...     _ = throttle.failed("10.0.0.1", now=100.0)
>>> throttle.wait("10.0.0.1", now=100.0), throttle.wait("10.0.0.2", now=100.0)
(1.0, 0.0)
"""

from __future__ import annotations

import hmac
import logging
import threading
from typing import Any

__all__ = ["Throttle", "throttled_auth_provider", "FREE_FAILURES", "MAX_LOCKOUT_S"]

logger = logging.getLogger(__name__)

FREE_FAILURES = 5
MAX_LOCKOUT_S = 300.0


class Throttle:
    """Failed-login bookkeeping per client address (thread-safe; in memory, reset when the server restarts)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}  # client -> (failures, time of the last one)

    def wait(self, client: str, *, now: float) -> float:
        """Seconds ``client`` must still wait before its next attempt is considered (0: go ahead)."""
        with self._lock:
            count, last = self._failures.get(client, (0, 0.0))
        if count < FREE_FAILURES:
            return 0.0
        delay = min(2.0 ** (count - FREE_FAILURES), MAX_LOCKOUT_S)
        return max(0.0, last + delay - now)

    def failed(self, client: str, *, now: float) -> int:
        """Record a wrong password; returns the client's failure count."""
        with self._lock:
            count = self._failures.get(client, (0, 0.0))[0] + 1
            self._failures[client] = (count, now)
            if len(self._failures) > 10_000:  # bounded memory under a spray of addresses: forget the oldest
                oldest = sorted(self._failures.items(), key=lambda item: item[1][1])[:5_000]
                for key, _ in oldest:
                    del self._failures[key]
        return count

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


def throttled_auth_provider(token: str, throttle: Throttle | None = None) -> Any:
    """A Panel ``auth_provider`` whose login page accepts any user name with ``token`` as the password."""
    import time

    import tornado.escape
    from panel.auth import BasicAuthProvider, BasicLoginHandler

    from tesla_lab.ui.offline import LOGIN_TEMPLATE, LOGOUT_TEMPLATE, auth_template

    throttle = throttle or Throttle()
    expected = token.encode()

    class ThrottledLoginHandler(BasicLoginHandler):
        def _validate(self, username: str, password: str) -> bool:
            return hmac.compare_digest(password.encode(), expected)

        def post(self) -> None:
            client = self.request.remote_ip or "unknown"
            wait = throttle.wait(client, now=time.monotonic())
            if wait > 0:
                self.set_status(429)
                self.set_header("Retry-After", str(int(wait) + 1))
                self.finish(f"Too many failed logins from {client}: wait {wait:.0f} s before trying again.")
                return
            username = self.get_argument("username", "")
            if self._validate(username, self.get_argument("password", "")):
                throttle.succeeded(client)
                self.set_current_user(username or "user")
                self.redirect(self.get_cookie("next_url", "/") if self.get_cookie("next_url", "/").startswith("/")
                              else "/")
                return
            count = throttle.failed(client, now=time.monotonic())
            logger.warning("failed dashboard login from %s (user %r, %d failure(s) in a row)", client,
                           username[:64], count)
            self.redirect(self.request.path + "?error=" + tornado.escape.url_escape("Invalid username or password!"))

    class ThrottledAuthProvider(BasicAuthProvider):
        def __init__(self) -> None:
            super().__init__()  # Panel's pages, replaced by ours: they extend a base Panel's loader cannot find
            self._login_template = auth_template(LOGIN_TEMPLATE)
            self._logout_template = auth_template(LOGOUT_TEMPLATE)

        @property
        def login_handler(self) -> Any:
            ThrottledLoginHandler._login_endpoint = self._login_endpoint
            ThrottledLoginHandler._login_template = self._login_template
            return ThrottledLoginHandler

    return ThrottledAuthProvider()
