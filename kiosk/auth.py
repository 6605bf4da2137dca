"""Who may moderate: users with argon2 password hashes, sessions with a CSRF token each, hashed
bearer tokens for scripts, and a throttle on sign-ins.

Sessions live in the database (the cookie is a random id, stored only as its SHA-256), so signing
out, an idle timeout, a password change or a removed user ends a session for good, across
restarts and whichever process made the change (`kiosk user passwd` runs in its own).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import argon2
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import URLSafeTimedSerializer
from starlette.responses import Response

from .atomic import write_atomically
from .errors import KioskError
from .library import Library, Refused
from .passwords import password_problem
from .roles import ROLES
from .settings import Settings

log = logging.getLogger(__name__)

SESSION_COOKIE = "kiosk_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
# The admin page polls with this header; polling is not activity, so it keeps no session alive.
BACKGROUND_HEADER = "X-Kiosk-Background"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_PREFIX = "kiosk_"
FIRST_ADMIN = "admin"
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
_REFRESH_SECONDS = 60  # note activity at most once a minute, not on every request
# argon2id as OWASP's password storage cheat sheet sizes it for small machines (19 MiB, 2 passes,
# one lane): about 0.1 s on a Pi 4. Hashes made with other costs are redone at the next sign-in.
PI_COSTS = dataclasses.replace(
    argon2.profiles.RFC_9106_LOW_MEMORY, memory_cost=19 * 1024, time_cost=2, parallelism=1
)
HASHES_AT_ONCE = 2
LOGIN_QUEUE_SECONDS = 3.0  # how long a sign-in waits for a free hasher before 429


class Unauthenticated(KioskError):
    """No valid credentials."""

    status = 401

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}  # the scheme scripts use; cookies need no challenge


class Forbidden(KioskError):
    """Valid credentials, but not allowed to do this."""

    status = 403


class Throttled(KioskError):
    """Too many sign-ins; try again after `retry_after` seconds."""

    status = 429

    def __init__(self, retry_after: int, message: str = "") -> None:
        super().__init__(
            message
            or f"too many failed sign-ins: wait {retry_after} seconds, then try again "
            "(ask an admin to reset the password with `kiosk user passwd` if it is lost)"
        )
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


@dataclass(frozen=True)
class Principal:
    """Whoever makes a request: a signed-in user (session) or a script (bearer token)."""

    name: str
    role: str
    csrf_token: str = ""  # empty for bearer tokens: a browser never sends those by itself
    session_id: str = ""
    active_at: float = 0.0

    def may(self, role: str) -> bool:
        return role == "moderator" or self.role == "admin"


def load_secret(data_dir: Path) -> bytes:
    """The signing key in data_dir/secret.key (mode 0600), made on first use."""
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # Exclusive: never replace a key that another process made a moment ago.
        with contextlib.suppress(FileExistsError):
            write_atomically(path, secrets.token_hex(32), exclusive=True, mode=0o600)
    if path.stat().st_mode & 0o077:
        log.warning("%s was readable by others; made it private (0600)", path)
        os.chmod(path, 0o600)
    return path.read_bytes().strip()


def digest(token: str) -> str:
    """How bearer tokens are stored: random tokens need no slow hash, only a one-way one."""
    return hashlib.sha256(token.encode()).hexdigest()


def user_name(name: str) -> str:
    """Names are lower case, so `Ann` and `ann` are one person."""
    clean = name.strip().lower()
    if not _NAME_RE.fullmatch(clean):
        raise Refused(
            f"{name!r} cannot be a user name: use 1 to 64 letters, digits, dots, dashes or @"
        )
    return clean


def check_role(role: str) -> str:
    if role not in ROLES:
        raise Refused(f"role {role!r} does not exist: use moderator or admin")
    return role


def check_password(password: str, user: str) -> str:
    problem = password_problem(password, user)
    if problem:
        raise Refused(problem)
    return password


class LoginThrottle:
    """Sign-in attempts per key (a user name at an address, an address). After `free` attempts
    in a row that did not succeed each one has to wait twice as long as the one before: 2 s,
    4 s, 8 s … up to `cap` seconds.

    An attempt is counted when it starts, before its password is checked, so a burst sent at
    once is counted whole instead of every request reading the count before any failure is
    written."""

    def __init__(self, clock: Callable[[], float], free: int = 3, cap: int = 900) -> None:
        self.clock = clock
        self.free = free
        self.cap = cap
        self._attempts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def _delay(self, count: int) -> int:
        return 0 if count < self.free else min(2 ** (count - self.free + 1), self.cap)

    def _wait(self, now: float, keys: tuple[str, ...]) -> int:
        waits = [
            self._delay(count) - (now - last)
            for count, last in (self._attempts.get(k, (0, now)) for k in keys)
        ]
        return max(0, *(int(w + 0.999) for w in waits))

    def wait(self, *keys: str) -> int:
        """Seconds until an attempt for all of `keys` is allowed (0: now)."""
        with self._lock:
            return self._wait(self.clock(), keys)

    def attempt(self, *keys: str) -> int:
        """Count an attempt for all of `keys` if it is allowed now: 0. Otherwise nothing is
        counted and the answer is the seconds to wait."""
        now = self.clock()
        with self._lock:
            wait = self._wait(now, keys)
            if wait:
                return wait
            if len(self._attempts) > 10_000:  # bound memory: forget runs that waited it out
                self._attempts = {k: v for k, v in self._attempts.items() if now - v[1] < self.cap}
            for key in keys:
                self._attempts[key] = (self._attempts.get(key, (0, now))[0] + 1, now)
            return 0

    def count(self, *keys: str) -> int:
        """The longest run of attempts among `keys`."""
        with self._lock:
            return max(self._attempts.get(k, (0, 0.0))[0] for k in keys)

    def refund(self, *keys: str) -> None:
        """Take back an attempt whose password was never checked."""
        with self._lock:
            for key in keys:
                count, last = self._attempts.get(key, (1, 0.0))
                if count > 1:
                    self._attempts[key] = (count - 1, last)
                else:
                    self._attempts.pop(key, None)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._attempts.pop(key, None)


class Auth:
    """Users, sessions and tokens of one server; lives on `app.state.auth`."""

    def __init__(
        self,
        settings: Settings,
        library: Library,
        clock: Callable[[], float] = time.time,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.library = library
        self.clock = clock
        self.idle_seconds = settings.session_idle_minutes * 60
        self.login_url = f"http://{settings.host}:{settings.port}/admin/login"
        self.hasher = hasher or PasswordHasher.from_parameters(PI_COSTS)  # tests pass cheaper costs
        self.throttle = LoginThrottle(clock)
        # Each hash holds memory_cost KiB and a core for a while: a burst of sign-ins waits its
        # turn here, on the event loop, not in a thread of the pool the other routes share.
        self._hashing = anyio.Semaphore(HASHES_AT_ONCE)
        self._secret = load_secret(settings.data_dir)
        self._dummy_hash = ""

    def signer(self, salt: str) -> URLSafeTimedSerializer:
        """A serializer for other signed values (the /submit form's CSRF token)."""
        return URLSafeTimedSerializer(self._secret, salt=salt)

    # ---- users -------------------------------------------------------------------------
    def add_user(self, name: str, role: str, password: str, actor: str) -> str:
        name = user_name(name)
        check_role(role)
        self.library.add_user(name, role, self.hasher.hash(check_password(password, name)), actor)
        return name

    def set_password(self, name: str, password: str, actor: str) -> None:
        name = user_name(name)
        hashed = self.hasher.hash(check_password(password, name))
        self.library.set_password(name, hashed, actor)

    def remove_user(self, name: str, actor: str) -> None:
        self.library.remove_user(user_name(name), actor)

    def ensure_first_admin(self) -> str | None:
        """With no user at all, make `admin` with a random password and print it once."""
        if self.library.users():
            return None
        password = secrets.token_urlsafe(16)
        try:
            self.add_user(FIRST_ADMIN, "admin", password, actor="first start")
        except Refused:  # another process made it a moment ago
            return None
        bar = "=" * 72
        print(
            f"\n{bar}\n"
            f"  First start: created the user {FIRST_ADMIN!r} (role admin) with the password\n\n"
            f"      {password}\n\n"
            f"  Sign in at {self.login_url}\n"
            "  This password is not shown again; change it with\n"
            f"  `kiosk user passwd {FIRST_ADMIN}` and add moderators with `kiosk user add`.\n"
            f"{bar}\n",
            flush=True,
        )
        return password

    def verify(self, name: str, password: str) -> dict[str, Any] | None:
        """The user when the password is right; as slow for unknown names as for known ones."""
        try:
            user = self.library.user(user_name(name))
        except Refused:
            user = None
        if user is None and not self._dummy_hash:
            self._dummy_hash = self.hasher.hash(secrets.token_hex(8))
        try:
            self.hasher.verify(user["password_hash"] if user else self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        if user and self.hasher.check_needs_rehash(user["password_hash"]):
            # Made with other costs (argon2's larger defaults before): redo it with ours, now
            # that the password is at hand. The same password, so no session ends.
            fresh = self.hasher.hash(password)
            self.library.rehash_password(user["name"], user["password_hash"], fresh)
        return user

    # ---- tokens ------------------------------------------------------------------------
    def create_token(self, name: str, role: str, actor: str) -> str:
        """A new bearer token; only its digest is stored, so this is the one chance to see it."""
        label = name.strip()
        if not label:
            raise Refused("give the token a name that says who uses it, like backup-script")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.library.add_token(label, digest(token), check_role(role), actor)
        return token

    # ---- sessions ----------------------------------------------------------------------
    async def login(self, name: str, password: str, address: str) -> Principal:
        """Check the password and start a session. Throttled per user name at an address and
        per address, so nobody elsewhere can lock a moderator out by failing as them; at most
        HASHES_AT_ONCE passwords are checked at once, the rest wait a moment or get 429."""
        keys = (f"user:{name.strip().lower()}@{address}", f"address:{address}")
        wait = self.throttle.attempt(*keys)
        if wait:
            log.warning("sign-in as '%s' from %s refused: throttled for %d s", name, address, wait)
            raise Throttled(wait)
        try:
            with anyio.fail_after(LOGIN_QUEUE_SECONDS):
                await self._hashing.acquire()
        except TimeoutError:
            self.throttle.refund(*keys)  # its password was never checked
            log.warning("sign-in as '%s' from %s refused: too many at once", name, address)
            raise Throttled(1, "the server is busy checking other sign-ins: try again") from None
        try:
            who = await anyio.to_thread.run_sync(self._start_session, name, password)
        finally:
            self._hashing.release()
        if who is None:
            count = self.throttle.count(*keys)
            log.warning("failed sign-in as '%s' from %s (%d in a row)", name, address, count)
            raise Unauthenticated("wrong user name or password")
        self.throttle.succeeded(*keys)
        log.info("%s signed in from %s", who.name, address)
        return who

    def _start_session(self, name: str, password: str) -> Principal | None:
        user = self.verify(name, password)
        if user is None:
            return None
        who = Principal(
            user["name"],
            user["role"],
            csrf_token=secrets.token_urlsafe(32),
            session_id=secrets.token_urlsafe(32),
            active_at=self.clock(),
        )
        self.library.start_session(
            digest(who.session_id), who.name, who.csrf_token, who.active_at, self.idle_seconds
        )
        return who

    def read_session(self, cookie: str | None) -> Principal | None:
        """The session a cookie names, or None when it is unknown, ended or idle too long."""
        if not cookie:
            return None
        sid = digest(cookie)
        session = self.library.session(sid)
        if session is None:
            return None
        now = self.clock()
        if now - session["last_seen"] > self.idle_seconds:
            self.library.end_session(sid, now)
            return None
        return Principal(
            session["user"], session["role"], session["csrf_token"], cookie, session["last_seen"]
        )

    def principal(self, cookie: str | None, bearer: str | None) -> Principal:
        """Who is asking, from a bearer token or the session cookie; raises Unauthenticated."""
        if bearer is not None:
            token = self.library.use_token(digest(bearer))
            if token is None:
                raise Unauthenticated("this API token is not valid: it was revoked or mistyped")
            return Principal(token["name"], token["role"])
        who = self.read_session(cookie)
        if who is None:
            raise Unauthenticated(
                "sign in first" if not cookie else "your session has ended: sign in again"
            )
        return who

    def check_csrf(self, who: Principal, sent: str | None) -> None:
        """Unsafe requests riding on a cookie must echo the session's CSRF token."""
        if who.session_id and not (sent and hmac.compare_digest(sent, who.csrf_token)):
            raise Forbidden("the CSRF token is missing or wrong: reload the page and try again")

    def should_refresh(self, who: Principal) -> bool:
        return bool(who.session_id) and self.clock() - who.active_at > _REFRESH_SECONDS

    def set_cookie(self, response: Response, who: Principal, secure: bool) -> None:
        """(Re)issue the session cookie, marking the session active now."""
        self.library.touch_session(digest(who.session_id), self.clock())
        response.set_cookie(
            SESSION_COOKIE,
            who.session_id,
            httponly=True,
            samesite="strict",
            secure=secure,
            path="/",
        )

    def end_session(self, who: Principal) -> None:
        self.library.end_session(digest(who.session_id), self.clock())
        log.info("%s signed out", who.name)
