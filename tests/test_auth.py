"""Users, passwords, sessions, tokens, the login throttle, the secret key and the CLI commands."""

from __future__ import annotations

import asyncio
import io
import logging
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Literal

import argon2
import httpx
import pytest
from starlette.responses import Response

from kiosk import cli
from kiosk.auth import (
    SESSION_COOKIE,
    Auth,
    LoginThrottle,
    Principal,
    Throttled,
    Unauthenticated,
    digest,
    load_secret,
)
from kiosk.cli import main
from kiosk.library import Library, NotFound, Refused

from .support import (
    CHEAP_HASHER,
    PASSWORD,
    LiveServer,
    add_users,
    make_settings,
    run_async,
    signed_in,
)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def auth(tmp_path: Path, clock: Clock) -> Auth:
    settings = make_settings(tmp_path, session_idle_minutes=30)
    return Auth(settings, Library(settings.db_path), clock=clock, hasher=CHEAP_HASHER)


def login(auth: Auth, name: str, password: str, address: str) -> Principal:
    return run_async(auth.login, name, password, address)


def cookie_of(auth: Auth, who) -> str:
    response = Response()
    auth.set_cookie(response, who, secure=False)
    header = response.headers["set-cookie"]
    return header.split(";")[0].split("=", 1)[1]


def test_passwords_are_argon2_hashes(auth: Auth) -> None:
    assert auth.add_user(" Ann ", "admin", PASSWORD, "test") == "ann"
    stored = auth.library.user("ann")["password_hash"]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert auth.verify("ANN", PASSWORD)["name"] == "ann"
    assert auth.verify("ann", "wrong password") is None
    assert auth.verify("nobody", PASSWORD) is None
    assert auth.verify("no way!", PASSWORD) is None  # not even a valid name


def test_the_server_hashes_with_costs_sized_for_a_pi_and_rehashes_older_hashes(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    auth = Auth(settings, Library(settings.db_path))  # the production hasher: slow on purpose
    auth.add_user("ann", "admin", PASSWORD, "test")
    stored = auth.library.user("ann")["password_hash"]
    costs = argon2.extract_parameters(stored)
    # OWASP's argon2id for small machines: 19 MiB, 2 passes, 1 lane.
    assert (costs.memory_cost, costs.time_cost, costs.parallelism) == (19 * 1024, 2, 1)
    assert auth.verify("ann", PASSWORD)["name"] == "ann"
    # A hash made with argon2's own (larger) defaults is redone at the next right password.
    older = argon2.PasswordHasher().hash(PASSWORD)
    auth.library.rehash_password("ann", stored, older)
    assert auth.verify("ann", "a wrong password") is None
    assert auth.library.user("ann")["password_hash"] == older
    assert login(auth, "ann", PASSWORD, "10.0.0.1").name == "ann"
    assert argon2.extract_parameters(auth.library.user("ann")["password_hash"]) == costs


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("ann", "admin", "short", "at least 10 characters"),
        ("ann", "root", PASSWORD, "role 'root' does not exist"),
        ("ann smith", "admin", PASSWORD, "cannot be a user name"),
        ("", "admin", PASSWORD, "cannot be a user name"),
    ],
)
def test_user_rules(auth: Auth, name: str, role: str, password: str, message: str) -> None:
    with pytest.raises(Refused, match=message):
        auth.add_user(name, role, password, "test")


def test_duplicates_and_the_last_admin(auth: Auth) -> None:
    auth.add_user("ann", "admin", PASSWORD, "test")
    with pytest.raises(Refused, match="already a user called ann"):
        auth.add_user("ANN", "moderator", PASSWORD, "test")
    with pytest.raises(Refused, match="last admin"):
        auth.remove_user("ann", "test")
    with pytest.raises(NotFound):
        auth.remove_user("bob", "test")
    with pytest.raises(NotFound):
        auth.set_password("bob", PASSWORD, "test")
    actions = [e["action"] for e in auth.library.audit_log()]
    assert actions == ["add user"]


def test_secret_key_is_made_once_and_private(tmp_path: Path) -> None:
    key = load_secret(tmp_path)
    path = tmp_path / "secret.key"
    assert len(key) == 64 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(tmp_path) == key
    path.chmod(0o644)
    assert load_secret(tmp_path) == key and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]  # no temp file left


def test_sessions_end_when_idle_forged_signed_out_or_password_changed(
    auth: Auth, clock: Clock
) -> None:
    auth.add_user("ann", "admin", PASSWORD, "test")
    who = login(auth, "ann", PASSWORD, "10.0.0.1")
    assert who.csrf_token and who.session_id
    cookie = cookie_of(auth, who)
    assert auth.read_session(cookie).name == "ann"
    assert auth.read_session(cookie[:-2] + "xx") is None  # not a session the server started
    assert auth.read_session("garbage") is None and auth.read_session(None) is None

    clock.now += 29 * 60
    active = auth.read_session(cookie)
    assert active is not None and auth.should_refresh(active)
    assert cookie_of(auth, active) == cookie  # activity moves the idle deadline
    clock.now += 29 * 60
    assert auth.read_session(cookie).csrf_token == who.csrf_token  # 29 idle minutes of 30
    clock.now += 31 * 60
    assert auth.read_session(cookie) is None  # 60 idle minutes: over the 30 allowed
    clock.now -= 31 * 60
    assert auth.read_session(cookie) is None  # and it stays ended

    again = login(auth, "ann", PASSWORD, "10.0.0.1")
    auth.end_session(again)
    assert auth.read_session(cookie_of(auth, again)) is None

    other = cookie_of(auth, login(auth, "ann", PASSWORD, "10.0.0.1"))
    auth.set_password("ann", "another good password", "test")
    assert auth.read_session(other) is None


def test_login_throttle_doubles_the_wait(clock: Clock) -> None:
    throttle = LoginThrottle(clock)
    keys = ("user:ann@10.0.0.9", "address:10.0.0.9")
    for _ in range(2):
        assert throttle.attempt(*keys) == 0
    assert throttle.wait(*keys) == 0  # a couple of typos cost nothing
    assert throttle.attempt(*keys) == 0 and throttle.count(*keys) == 3
    assert throttle.wait(*keys) == 2
    assert throttle.attempt(*keys) == 2 and throttle.count(*keys) == 3  # refused: not counted
    assert throttle.wait("user:bob@10.0.0.9") == 0
    assert throttle.wait("user:bob@10.0.0.9", keys[1]) == 2
    clock.now += 2
    assert throttle.attempt(*keys) == 0
    assert throttle.wait(*keys) == 4
    throttle.refund(*keys)  # an attempt whose password was never checked
    assert throttle.count(*keys) == 3 and throttle.wait(*keys) == 2
    for _ in range(20):
        clock.now += 900
        throttle.attempt(*keys)
    assert throttle.wait(*keys) == 900  # capped at 15 minutes
    throttle.succeeded(*keys)
    assert throttle.wait(*keys) == 0


def test_login_is_throttled_per_address_too(auth: Auth, clock: Clock) -> None:
    auth.add_user("ann", "admin", PASSWORD, "test")
    for name in ("ann", "bob", "carl"):  # guessing different users from one address
        with pytest.raises(Unauthenticated):
            login(auth, name, "guess", "10.0.0.66")
    with pytest.raises(Throttled) as raised:
        login(auth, "ann", PASSWORD, "10.0.0.66")
    assert raised.value.retry_after == 2
    assert login(auth, "ann", PASSWORD, "10.0.0.7").name == "ann"  # another address is fine
    clock.now += 2
    assert login(auth, "ann", PASSWORD, "10.0.0.66").name == "ann"


def test_tokens_are_stored_hashed_and_revocable(auth: Auth) -> None:
    token = auth.create_token("backup-script", "moderator", "test")
    assert token.startswith("kiosk_") and len(token) > 40
    with closing(sqlite3.connect(auth.library.path)) as db:
        (stored,) = db.execute("SELECT token_hash FROM tokens").fetchone()
    assert stored == digest(token) and token not in stored
    who = auth.principal(None, token)
    assert (who.name, who.role, who.csrf_token) == ("backup-script", "moderator", "")
    auth.check_csrf(who, None)  # bearer tokens need no CSRF token
    auth.library.revoke_tokens("backup-script", "test")
    with pytest.raises(Unauthenticated, match="revoked"):
        auth.principal(None, token)
    with pytest.raises(Refused):
        auth.create_token("  ", "moderator", "test")


def test_first_start_creates_admin_and_prints_the_password_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path)
    live = LiveServer(settings).start()
    live.stop()
    out = capsys.readouterr().out
    assert "created the user 'admin' (role admin)" in out
    password = out.split("password\n\n", 1)[1].split()[0]
    auth = Auth(settings, Library(settings.db_path))
    assert auth.verify("admin", password)["role"] == "admin"
    assert [u["name"] for u in auth.library.users()] == ["admin"]
    live = LiveServer(settings).start()
    live.stop()
    assert password not in capsys.readouterr().out  # shown once only


def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    # The commands build their own Auth; the costs are checked above, not in every CLI call.
    monkeypatch.setattr("kiosk.auth.Auth", partial(Auth, hasher=CHEAP_HASHER))
    dirs = ["--content-dir", str(tmp_path), "--data-dir", str(tmp_path / "data")]
    return main([*args, *dirs])


def test_cli_users(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    add_admin = ["user", "add", "ann", "--role", "admin", "--password-stdin"]
    assert run(tmp_path, monkeypatch, *add_admin, stdin=PASSWORD + "\n") == 0
    assert "added ann (admin)" in capsys.readouterr().out
    assert run(tmp_path, monkeypatch, "user", "add", "mod", "--password-stdin", stdin=PASSWORD) == 0
    assert run(tmp_path, monkeypatch, "user", "list") == 0
    listing = capsys.readouterr().out
    assert "ann" in listing and "admin" in listing and "mod " in listing and "moderator" in listing
    new = "a different password"
    assert run(tmp_path, monkeypatch, "user", "passwd", "mod", "--password-stdin", stdin=new) == 0
    auth = Auth(make_settings(tmp_path), Library(tmp_path / "data" / "kiosk.db"))
    assert auth.verify("mod", new) and not auth.verify("mod", PASSWORD)
    assert run(tmp_path, monkeypatch, "user", "add", "x", "--password-stdin", stdin="short") == 2
    assert "at least 10 characters" in capsys.readouterr().err
    assert run(tmp_path, monkeypatch, "user", "remove", "ann") == 2
    assert "last admin" in capsys.readouterr().err
    assert run(tmp_path, monkeypatch, "user", "remove", "mod") == 0
    assert run(tmp_path, monkeypatch, "user", "add") == 2
    assert "needs a NAME" in capsys.readouterr().err
    audit = [(e["actor"], e["action"]) for e in auth.library.audit_log()]
    assert ("add user" in {a for _, a in audit}) and all(a.startswith("cli") for a, _ in audit)


def test_cli_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, monkeypatch, "token", "create", "lobby-screen") == 0
    captured = capsys.readouterr()
    token = captured.out.strip()
    assert token.startswith("kiosk_") and "\n" not in token and "only this once" in captured.err
    auth = Auth(make_settings(tmp_path), Library(tmp_path / "data" / "kiosk.db"))
    assert auth.principal(None, token).name == "lobby-screen"
    assert run(tmp_path, monkeypatch, "token", "list") == 0
    assert "lobby-screen" in capsys.readouterr().out and token not in captured.err
    assert run(tmp_path, monkeypatch, "token", "revoke", "lobby-screen") == 0
    assert run(tmp_path, monkeypatch, "token", "revoke", "lobby-screen") == 2
    assert "no live token" in capsys.readouterr().err
    with pytest.raises(Unauthenticated):
        auth.principal(None, token)


# ---- floods and hostile colleagues -------------------------------------------------------------
class CountingHasher(argon2.PasswordHasher):
    """Test-sized argon2 that records how many verifications run at once. Each one also holds
    its thread for `hold` seconds, standing in for a real hash on a busy Pi."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.hold = 0.0
        self.calls = 0
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self._lock:
            self.calls += 1
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(self.hold)
            return super().verify(hash, password)
        finally:
            with self._lock:
                self.running -= 1


def from_address(server: LiveServer, host: str) -> httpx.AsyncClient:
    """A client whose requests come from `host`, one of the many addresses of loopback."""
    transport = httpx.AsyncHTTPTransport(local_address=host)
    return httpx.AsyncClient(base_url=server.url, timeout=30, transport=transport)


async def guesses(clients: list[httpx.AsyncClient], count: int, name: str = "mod") -> list[int]:
    """`count` wrong sign-ins at once, spread over `clients`; their status codes."""
    sent = [
        clients[i % len(clients)].post(
            "/api/admin/login", json={"username": name, "password": f"guess number {i}"}
        )
        for i in range(count)
    ]
    return [answer.status_code for answer in await asyncio.gather(*sent)]


def test_a_burst_of_sign_ins_is_counted_before_hashing_and_hashed_a_few_at_a_time(
    tmp_path: Path,
) -> None:
    hasher = CountingHasher()
    server = LiveServer(make_settings(tmp_path), hasher=hasher).start()
    try:
        add_users(server)
        latencies: list[float] = []
        done = threading.Event()

        def poll_playlist() -> None:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                while not done.is_set():
                    start = time.perf_counter()
                    assert client.get("/api/playlist").status_code == 200
                    latencies.append(time.perf_counter() - start)
                    done.wait(0.02)

        async def burst(hosts: list[str]) -> list[int]:
            clients = [from_address(server, host) for host in hosts]
            try:
                return await guesses(clients, 40)
            finally:
                for client in clients:
                    await client.aclose()

        assert server.get("/api/playlist").status_code == 200  # built once before the burst
        poller = threading.Thread(target=poll_playlist)
        poller.start()
        try:
            # 40 at once from one address: every one is counted before any is hashed, so only
            # the free attempts are hashed and the rest are refused without costing a hash.
            hasher.calls, hasher.most, hasher.hold = 0, 0, 1.0
            answers = run_async(burst, ["127.0.0.1"])
            assert len(answers) == 40 and set(answers) <= {401, 429}
            assert answers.count(401) == hasher.calls <= 3
            assert answers.count(429) >= 37
            # The same number from 20 addresses (2 each, all within the free attempts): every
            # one is hashed, but never more than two at once.
            hasher.calls, hasher.most, hasher.hold = 0, 0, 0.02
            answers = run_async(burst, [f"127.0.0.{10 + i}" for i in range(20)])
            assert answers.count(401) == hasher.calls and answers.count(401) >= 30
            assert hasher.most <= 2
        finally:
            done.set()
            poller.join()
        # The screens' playlist kept answering while the sign-ins waited their turn.
        assert latencies and max(latencies) < 1.0, max(latencies)
    finally:
        server.stop()


def test_failing_as_a_moderator_from_elsewhere_does_not_lock_them_out(tmp_path: Path) -> None:
    server = LiveServer(make_settings(tmp_path)).start()
    try:
        add_users(server)

        async def attack_then_sign_in() -> tuple[list[int], int, int]:
            async with from_address(server, "127.0.0.66") as attacker:
                refused = [(await guesses([attacker], 1))[0] for _ in range(8)]  # one by one
                later = await attacker.post(
                    "/api/admin/login", json={"username": "mod", "password": PASSWORD}
                )
            async with from_address(server, "127.0.0.1") as usual:
                mine = await usual.post(
                    "/api/admin/login", json={"username": "mod", "password": PASSWORD}
                )
            return refused, later.status_code, mine.status_code

        refused, attacker_with_password, usual = run_async(attack_then_sign_in)
        assert refused == [401] * 3 + [429] * 5
        assert attacker_with_password == 429  # the attacker's address stays throttled
        assert usual == 200  # the moderator, from their usual address, gets in
    finally:
        server.stop()


def test_signed_out_sessions_stay_dead_after_a_restart_and_others_survive_it(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    server = LiveServer(settings).start()
    try:
        add_users(server)
        leaving, staying = signed_in(server, "mod"), signed_in(server, "ann")
        cookie = leaving.cookies[SESSION_COOKIE]
        assert leaving.post("/api/admin/logout").status_code == 204
    finally:
        server.stop()
    server = LiveServer(settings).start()  # the same data folder, a new process's memory
    try:
        stale = httpx.get(server.url + "/api/admin/audit", cookies={SESSION_COOKIE: cookie})
        assert stale.status_code == 401
        assert staying.get("/api/admin/audit").status_code == 200
        # Changing a password or removing a user ends their sessions, in any process.
        other = Auth(settings, Library(settings.db_path), hasher=CHEAP_HASHER)
        mod = signed_in(server, "mod")
        other.set_password("ann", "a brand new passphrase", "test")
        assert staying.get("/api/admin/audit").status_code == 401
        assert mod.get("/api/admin/submissions").status_code == 200
        other.remove_user("mod", "test")
        assert mod.get("/api/admin/submissions").status_code == 401
    finally:
        server.stop()


def test_sessions_are_stored_hashed(auth: Auth) -> None:
    auth.add_user("ann", "admin", PASSWORD, "test")
    cookie = cookie_of(auth, login(auth, "ann", PASSWORD, "10.0.0.1"))
    with closing(sqlite3.connect(auth.library.path)) as db:
        rows = db.execute("SELECT id, user FROM sessions").fetchall()
    assert rows == [(digest(cookie), "ann")]


@pytest.fixture
def users(server: LiveServer) -> LiveServer:
    add_users(server)
    return server


def test_sign_in_fields_and_admin_bodies_are_limited(users: LiveServer) -> None:
    def login_as(name: str, password: str = PASSWORD) -> httpx.Response:
        body = {"username": name, "password": password}
        return httpx.post(users.url + "/api/admin/login", json=body, timeout=30)

    assert login_as("a" * 65).status_code == 422
    assert login_as("mod", "p" * 1025).status_code == 422
    assert login_as("m" * 8_000_000).status_code == 413  # refused before it is read whole
    client = signed_in(users)
    too_long = {"reason": "x" * 70_000}
    assert client.post("/api/admin/submissions/1/reject", json=too_long).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"reason": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    sent = client.post(
        "/api/admin/submissions/1/reject",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert sent.status_code == 413
    assert login_as("mod").status_code == 200


def test_untrusted_values_cannot_forge_a_log_line(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        cli.setup_logging("info")  # as `kiosk serve` logs
        forged = "a.md\nINFO kiosk.auth: admin signed in from 10.0.0.1"
        logging.getLogger("kiosk.ingest.watcher").info("%s: file deleted", forged)
        logging.getLogger("kiosk.auth").warning("failed sign-in as %s", "m" * 8000)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2, lines
    assert (
        lines[0] == "INFO kiosk.ingest.watcher: " + forged.replace("\n", "\\n") + ": file deleted"
    )
    assert len(lines[1]) < 300 and lines[1].endswith("…(+7800 characters)")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("1234567890", "only digits"),
        ("annabelle-2026", "contains the user name"),
        ("Password123!", "first that guessers try"),
        ("qwertyuiop", "first that guessers try"),
        ("1q2w3e4r5t", "first that guessers try"),
        ("aaaaaaaaaaaa", "first that guessers try"),
        ("2026!!!!2026", "first that guessers try"),
    ],
)
def test_guessable_passwords_are_refused_with_advice(
    auth: Auth, password: str, message: str
) -> None:
    with pytest.raises(Refused, match=f"{message}.*choose a few unrelated words"):
        auth.add_user("annabelle", "admin", password, "test")
    auth.add_user("annabelle", "admin", PASSWORD, "test")
    with pytest.raises(Refused, match=message):
        auth.set_password("annabelle", password, "test")


def test_the_admin_api_refuses_a_guessable_password(users: LiveServer) -> None:
    client = signed_in(users, "ann")
    body = {"username": "dora", "password": "1234567890"}
    answer = client.post("/api/admin/users", json=body)
    assert answer.status_code == 422 and "only digits" in answer.text
