"""The real deploy/raspberry-pi/install.sh, run as a new user would, in a fresh Debian root.

No dry run: debootstrap's minimal Debian (cached, see debian_root.py) gets this checkout copied
in, and `install.sh --no-screen` runs as root inside it with the network, as on a Pi. There is
no systemd in a chroot, so the server is then started the way its installed unit says (the
unit's ExecStart, User=, groups and Environment=), on a free loopback port, and used through
HTTP as an admin would: the first password, a story dropped into the share folder, the guide's
password reset, and an upgrade that keeps everything.

Bookworm on this machine's architecture runs by default. KIOSK_LONG_TESTS=1 adds Trixie on arm64
(the Pi's), through qemu-user-static: much slower, so only on request.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

import httpx
import pytest

from .debian_root import CACHE, CHECKOUT, Root, Service, Target, copy_checkout, host_arch, unpacked
from .factories import jpeg, story
from .support import free_port, wait_for

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "deploy-raspberry-pi.md"
INSTALL = f"{CHECKOUT}/deploy/raspberry-pi/install.sh"
TARGETS = [Target("bookworm", host_arch())]
if os.environ.get("KIOSK_LONG_TESTS") == "1":
    TARGETS.append(Target("trixie", "arm64"))
# pip inside trusts what this machine trusts (a proxy's CA where the network has one).
INSTALL_ENV = {"PIP_CERT": "/etc/host-ca.pem", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
FIRST_PASSWORD = re.compile(r"First start: created the user 'admin' .*?\n\s*\n\s*(\S+)\n")


def install(root: Root, *args: str, timings: dict[str, float], label: str, log: Path) -> str:
    start = time.monotonic()
    done = root.run(["bash", INSTALL, *args], env=INSTALL_ENV, timeout=1500)
    timings[label] = time.monotonic() - start
    log.write_text(done.stdout)
    assert done.returncode == 0, f"install.sh {' '.join(args)} failed:\n{done.stdout[-6000:]}"
    return done.stdout


def start_server(root: Root, port: int, log: Path) -> Service:
    """The installed unit's command, as its user, listening on loopback only."""
    server = Service(
        root, "kiosk.service", {"KIOSK_HOST": "127.0.0.1", "KIOSK_PORT": str(port)}, log
    )

    def healthy() -> bool:
        assert server.proc.poll() is None, f"the server exited:\n{server.output()[-4000:]}"
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(healthy, timeout=120 if root.target.arch == host_arch() else 600, interval=0.5)
    except AssertionError:
        server.stop()
        raise AssertionError(f"no 200 from /healthz:\n{server.output()[-4000:]}") from None
    return server


def login(base: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    answer = client.post("/api/admin/login", json={"username": "admin", "password": password})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def pending(client: httpx.Client) -> list[str]:
    answer = client.get("/api/admin/submissions", params={"status": "pending"})
    assert answer.status_code == 200, answer.text
    return [s["name"] for s in answer.json()["submissions"]]


def drop_story(root: Root, content_dir: str, staff_gid: int) -> None:
    """A story and its photo, as Samba writes them for a staff member (group staff, 0664)."""
    folder = root / content_dir
    for name, data in (
        ("ada-lovelace.jpg", jpeg(600, 800)),
        ("ada-lovelace.md", story("Ada Lovelace", Consent="yes").encode()),
    ):
        partial = folder / f".{name}.part"  # dot files are ignored until renamed
        partial.write_bytes(data)
        os.chown(partial, 0, staff_gid)
        partial.chmod(0o664)
        partial.rename(folder / name)


def guide_reset_command() -> str:
    found = re.search(r"\*\*Forgot the admin password:\*\* `([^`]+)`", GUIDE.read_text())
    assert found, "the guide no longer says how to reset the admin password"
    return found[1]


@pytest.mark.timeout(3600)
@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_real_install_serves_and_upgrades(target: Target, tmp_path: Path) -> None:
    timings: dict[str, float] = {}
    start = time.monotonic()
    with unpacked(target) as root:
        timings["unpack"] = time.monotonic() - start
        copy_checkout(root)

        # ---- the first install, as the guide says, without the screen part --------------
        out = install(root, "--no-screen", timings=timings, label="install", log=tmp_path / "1.txt")
        lines = out.splitlines()
        assert lines[-1].strip().startswith("Check it:")
        host = root.run(["hostname"]).stdout.strip()
        assert f"Admin page:   http://{host}.local:8000/admin" in out and "0.0.0.0" not in out
        # no systemd in a chroot (as in an image builder): enabled for the first boot
        assert "systemd is not running here" in out
        for unit in ("kiosk.service", "smbd.service"):
            wants = root / f"etc/systemd/system/multi-user.target.wants/{unit}"
            assert wants.is_symlink(), unit  # to an absolute path: inside the root
        assert "journalctl -u kiosk -o cat | grep -A2 'First start'" in out
        reset = re.search(r"forgot it\? (.+)$", out, re.MULTILINE)
        assert reset and reset[1] == guide_reset_command()
        # pip built a copy: the checkout is as the clone left it
        assert not list((root / CHECKOUT).glob("*.egg-info"))
        assert not (root / CHECKOUT / "build").exists()

        config = (root / "etc/kiosk/install.conf").read_text()
        content_dir = re.search(r"^CONTENT_DIR=(\S+)$", config, re.MULTILINE)[1]  # type: ignore[index]
        data_dir = re.search(r"^DATA_DIR=(\S+)$", config, re.MULTILINE)[1]  # type: ignore[index]
        staff_gid = int(root.ids("kiosk", None, ["kiosk-staff"])[2])

        # ---- the server, as its unit starts it ------------------------------------------
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = tmp_path / "journal.txt"
        t = time.monotonic()
        server = start_server(root, port, log)
        timings["first start"] = time.monotonic() - t
        try:
            first = FIRST_PASSWORD.findall(server.output())
            assert len(first) == 1, f"the first password, once:\n{server.output()[-3000:]}"
            admin = login(base, first[0])
            drop_story(root, content_dir, staff_gid)
            wait_for(lambda: "Ada Lovelace" in pending(admin), timeout=60, interval=0.5)

            # ---- the guide's password reset, while the server runs ----------------------
            new_password = secrets.token_urlsafe(12)
            done = root.run(
                [*reset[1].split(), "--password-stdin"], stdin=new_password + "\n", timeout=120
            )
            assert done.returncode == 0, done.stdout
            login(base, new_password)
            refused = httpx.post(
                f"{base}/api/admin/login", json={"username": "admin", "password": first[0]}
            )
            assert refused.status_code == 401
        finally:
            server.stop()

        # ---- an upgrade: `git pull`, then install.sh again with no options --------------
        marker = f"# upgraded {secrets.token_hex(4)}\n"
        init = root / CHECKOUT / "kiosk/__init__.py"
        init.write_text(init.read_text() + marker)
        db = root / data_dir / "kiosk.db"
        db_inode = db.stat().st_ino
        out = install(root, timings=timings, label="upgrade", log=tmp_path / "2.txt")
        assert "Admins:       unchanged" in out and "First admin" not in out
        assert db.stat().st_ino == db_inode
        installed = list((root / "opt/kiosk/lib").glob("python3*/site-packages/kiosk/__init__.py"))
        assert len(installed) == 1 and installed[0].read_text().endswith(marker)

        log.write_text("")
        server = start_server(root, port, log)
        try:
            assert "First start" not in server.output()
            admin = login(base, new_password)
            assert "Ada Lovelace" in pending(admin)
        finally:
            server.stop()

        # ---- every script has a font (what the screens need to show any story) ----------
        doctor = root.run(["/usr/local/bin/kiosk", "doctor", "--config", "/etc/kiosk/kiosk.toml"])
        found = {w[1]: w[0] for w in map(str.split, doctor.stdout.splitlines()) if len(w) > 2}
        assert found.get("fonts") == found.get("scripts") == "OK", doctor.stdout
        assert found.get("emoji", "OK") == "OK", doctor.stdout  # only said when missing

    timings["total"] = time.monotonic() - start
    summary = ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
    with open(CACHE / "install-times.log", "a") as record:
        record.write(f"{time.strftime('%F %T')} {target.name}: {summary}\n")
    print(f"{target.name}: {summary}")
