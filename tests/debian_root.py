"""A fresh Debian root to install into: debootstrap once, cached as a tarball, unpacked per run.

Used by test_install.py and test_session.py. The root is built with the machine's own Debian
mirror (read from its apt sources, never a hard-coded host) and kept under $KIOSK_TEST_CACHE
(default ~/.cache/kiosk-tests), outside the repository. Each run unpacks it into a folder of its
own there, mounts what programs inside need (/proc, a private /dev/pts, /dev/shm, and the pip
and apt download caches so repeats are quick), and always unmounts before anything is deleted:
a folder is only ever removed once nothing is mounted beneath it.
"""

from __future__ import annotations

import fcntl
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("KIOSK_TEST_CACHE") or Path.home() / ".cache" / "kiosk-tests")
# What a Raspberry Pi OS Lite image has and minbase lacks: systemd (systemctl, journalctl)
# and sudo (the guide's commands start with it).
INCLUDE = ("systemd-sysv", "sudo")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
REPO = Path(__file__).resolve().parents[1]
CHECKOUT = "/home/pi/hallway-kiosk"  # where the guide's `git clone` puts it


class RootError(Exception):
    """The root could not be built or entered; the message says why and what to install."""


@dataclass(frozen=True)
class Target:
    suite: str  # bookworm, trixie
    arch: str  # a Debian architecture: amd64, arm64

    @property
    def name(self) -> str:
        return f"{self.suite}-{self.arch}"


def host_arch() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


def debian_mirror(apt: Path = Path("/etc/apt")) -> str:
    """The URI this machine's apt uses for Debian's main archive (not security, not updates)."""
    entries: list[tuple[list[str], list[str]]] = []  # (URIs, suites)
    for path in sorted(apt.glob("sources.list.d/*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields = dict(re.findall(r"^([A-Za-z-]+):[ \t]*(.*)$", stanza, re.MULTILINE))
            if "deb" in fields.get("Types", "").split():
                entries.append((fields.get("URIs", "").split(), fields.get("Suites", "").split()))
    for path in [apt / "sources.list", *sorted(apt.glob("sources.list.d/*.list"))]:
        for line in path.read_text().splitlines() if path.is_file() else []:
            words = re.sub(r"\[[^]]*\]", "", line.split("#")[0]).split()
            if len(words) >= 3 and words[0] == "deb":
                entries.append(([words[1]], [words[2]]))
    for uris, suites in entries:
        # The main archive serves plain codenames; -security and -updates are other archives.
        if uris and any(re.fullmatch(r"[a-z]+", s) for s in suites):
            return uris[0]
    raise RootError(f"no Debian mirror in {apt}/sources.list*: cannot debootstrap")


def _run(argv: Sequence[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), text=True, check=False, **kw)  # type: ignore[call-overload]


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below `path`, deepest first."""
    prefix = str(path.resolve())
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if point == prefix or point.startswith(prefix + "/"):
            found.append(point)
    return sorted(found, key=len, reverse=True)


def unmount_all(path: Path) -> None:
    for point in mounts_under(path):
        if _run(["umount", point], capture_output=True).returncode != 0:
            _run(["umount", "--lazy", point], capture_output=True)
    left = mounts_under(path)
    if left:
        raise RootError(f"still mounted, so not deleted: {', '.join(left)}")


def remove_root(path: Path) -> None:
    """Delete a root folder, but only once nothing is mounted inside it."""
    if path.exists():
        unmount_all(path)
        shutil.rmtree(path)


def _foreign_ready(arch: str) -> None:
    """Running another architecture's programs needs qemu-user-static registered with binfmt."""
    qemu = {"arm64": "aarch64", "armhf": "arm", "amd64": "x86_64", "i386": "i386"}[arch]
    entry = Path(f"/proc/sys/fs/binfmt_misc/qemu-{qemu}")
    if not entry.exists() and Path("/proc/sys/fs/binfmt_misc").is_dir():
        if not Path("/proc/sys/fs/binfmt_misc/register").exists():
            _run(["mount", "-t", "binfmt_misc", "binfmt_misc", "/proc/sys/fs/binfmt_misc"])
        _run(["update-binfmts", "--enable", f"qemu-{qemu}"], capture_output=True)
    if not entry.exists() or "enabled" not in entry.read_text():
        raise RootError(
            f"{arch} programs cannot run here: apt-get install qemu-user-static binfmt-support "
            f"(and binfmt_misc must be mounted): {entry} is missing"
        )


def base_tarball(target: Target) -> Path:
    """The cached tarball of a fresh `debootstrap --variant=minbase` root; built when missing."""
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball = CACHE / f"debian-{target.name}.tar"
    with open(CACHE / f".lock-{target.name}", "w") as lock:  # two runs at once build it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tarball.exists():
            return tarball
        if shutil.which("debootstrap") is None:
            raise RootError("debootstrap is missing: apt-get install debootstrap")
        if target.arch != host_arch():
            _foreign_ready(target.arch)
        work = CACHE / f"build-{target.name}"
        remove_root(work)
        done = _run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(INCLUDE)}",
             f"--arch={target.arch}", target.suite, str(work), debian_mirror()],
            capture_output=True,
        )  # fmt: skip
        try:
            if done.returncode != 0:
                log = work / "debootstrap" / "debootstrap.log"
                detail = log.read_text()[-3000:] if log.exists() else done.stderr[-3000:]
                raise RootError(f"debootstrap {target.name} failed:\n{detail}")
            (work / "var/cache/apt/archives").mkdir(parents=True, exist_ok=True)
            for deb in (work / "var/cache/apt/archives").glob("*.deb"):
                deb.unlink()
            part = tarball.with_suffix(".part")
            subprocess.run(["tar", "-C", str(work), "-cf", str(part), "."], check=True)
            part.rename(tarball)
        finally:
            remove_root(work)
    return tarball


@dataclass
class Root:
    """An unpacked root, and how to run programs inside it."""

    path: Path
    target: Target

    def __truediv__(self, inside: str) -> Path:
        return self.path / inside.lstrip("/")

    def run(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        timeout: float = 600,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command as root inside the root, with a clean environment; output merged."""
        clean = {"PATH": PATH, "LANG": "C.UTF-8", "HOME": "/root", **(env or {})}
        return _run(
            ["chroot", str(self.path), "/usr/bin/env", "-i",
             *(f"{k}={v}" for k, v in clean.items()), *argv],
            input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
        )  # fmt: skip

    def ids(self, user: str, group: str | None, groups: Sequence[str]) -> tuple[str, str, str]:
        """uid, gid and supplementary gids (comma-separated) as this root's files say."""
        passwd = {r[0]: r for r in self._table("etc/passwd")}
        gids = {r[0]: r[2] for r in self._table("etc/group")}
        if user not in passwd:
            raise RootError(f"no user {user!r} in the installed system")
        gid = gids[group] if group else passwd[user][3]
        return passwd[user][2], gid, ",".join(gids[g] for g in groups) or gid

    def home(self, user: str) -> str:
        for fields in self._table("etc/passwd"):
            if fields[0] == user:
                return fields[5]
        raise RootError(f"no user {user!r} in the installed system")

    def _table(self, name: str) -> list[list[str]]:
        return [line.split(":") for line in (self / name).read_text().splitlines() if line]


@contextmanager
def unpacked(target: Target, caches: bool = True) -> Iterator[Root]:
    """A fresh copy of the cached root, mounted for use, always unmounted and removed after."""
    tarball = base_tarball(target)
    runs = CACHE / "runs"
    runs.mkdir(exist_ok=True)
    for stale in runs.iterdir():  # left by a run that was killed: its pid is gone
        pid = stale.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or not Path(f"/proc/{pid}").exists():
            remove_root(stale)
    path = runs / f"{target.name}-{os.getpid()}"
    remove_root(path)
    path.mkdir()
    try:
        subprocess.run(["tar", "-C", str(path), "-xf", str(tarball)], check=True)
        root = Root(path, target)
        # The host's name servers, and the certificates this machine trusts (a proxy's CA, if
        # the network has one), so pip inside reaches the same registries as pip outside.
        shutil.copyfile("/etc/resolv.conf", root / "etc/resolv.conf")
        shutil.copyfile("/etc/ssl/certs/ca-certificates.crt", root / "etc/host-ca.pem")
        # As in any image builder: packages' maintainer scripts start no daemons in a chroot.
        policy = root / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        (root / "dev/ptmx").unlink()
        (root / "dev/ptmx").symlink_to("pts/ptmx")
        mounts: list[tuple[list[str], Path]] = [
            (["-t", "proc", "proc"], root / "proc"),
            (["-t", "devpts", "-o", "newinstance,ptmxmode=0666", "devpts"], root / "dev/pts"),
            (["-t", "tmpfs", "-o", "mode=1777", "tmpfs"], root / "dev/shm"),
        ]
        if caches:
            for inside, name in (("root/.cache/pip", "pip"), ("var/cache/apt/archives", "apt")):
                outside = CACHE / f"{name}-{target.name}"
                outside.mkdir(parents=True, exist_ok=True)
                (root / inside).mkdir(parents=True, exist_ok=True)
                mounts.append((["--bind", str(outside)], root / inside))
        for args, where in mounts:
            subprocess.run(["mount", *args, str(where)], check=True)
        yield root
    finally:
        remove_root(path)


def parse_unit(text: str) -> dict[str, list[str]]:
    """A systemd unit as KEY -> values in order (keys repeat); continuation lines joined."""
    out: dict[str, list[str]] = {}
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def sandbox(root: Root, keys: Mapping[str, list[str]]) -> str:
    """Shell commands that give a private mount namespace the unit's file system protection.

    ProtectSystem=strict (all read-only), ReadWritePaths= (but these), PrivateTmp= and
    ProtectHome=, which are what decide where the server may write: a server that writes
    anywhere else fails here as it would on the Pi.
    """
    r = shlex.quote(str(root.path))
    steps = ["set -e"]
    if keys.get("ProtectSystem", ["no"])[-1] == "strict":
        steps += [f"mount --rbind {r} {r}", f"mount -o remount,bind,ro {r}"]
        for path in " ".join(keys.get("ReadWritePaths", [])).split():
            inside = shlex.quote(str(root / path.lstrip("-")))
            steps += [f"mount --bind {inside} {inside}", f"mount -o remount,bind,rw {inside}"]
    if keys.get("PrivateTmp", ["no"])[-1] == "yes":
        steps += [f"mount -t tmpfs -o mode=1777 tmpfs {r}/{d}" for d in ("tmp", "var/tmp")]
    home = keys.get("ProtectHome", ["no"])[-1]
    for d in ("home", "root") if home != "no" else ():
        where = f"{r}/{d}"
        if home == "read-only":
            steps += [f"mount --bind {where} {where}", f"mount -o remount,bind,ro {where}"]
        else:  # yes, tmpfs: an empty folder where the homes were
            steps.append(f"mount -t tmpfs -o ro tmpfs {where}")
    return "\n".join(steps)


def unit_command(root: Root, unit: str) -> tuple[list[str], dict[str, str], tuple[str, str, str]]:
    """What systemd would run for a simple service unit: argv, environment and (uid, gid, gids).

    Environment as systemd builds it for a User= service (PATH, HOME, USER, LOGNAME, SHELL),
    then EnvironmentFile= and Environment= in the unit's order of precedence.
    """
    keys = parse_unit((root / f"etc/systemd/system/{unit}").read_text())
    user = keys.get("User", ["root"])[-1]
    group = keys.get("Group", [None])[-1]
    extra = " ".join(keys.get("SupplementaryGroups", [])).split()
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin", "HOME": root.home(user),
           "USER": user, "LOGNAME": user, "SHELL": "/usr/sbin/nologin"}  # fmt: skip
    for value in keys.get("EnvironmentFile", []):
        optional, name = value.startswith("-"), value.lstrip("-")
        if not (root / name).exists() and optional:
            continue
        for line in (root / name).read_text().splitlines():
            if "=" in line and not line.lstrip().startswith(("#", ";")):
                k, _, v = line.partition("=")
                env[k.strip()] = " ".join(shlex.split(v))
    for value in keys.get("Environment", []):
        for pair in shlex.split(value):
            k, _, v = pair.partition("=")
            env[k] = v
    (exec_start,) = keys["ExecStart"]
    argv = shlex.split(exec_start.lstrip("-@:+!"))
    return argv, env, root.ids(user, group, extra)


class Service:
    """A unit's command running inside the root as its user; its output (the journal) kept."""

    def __init__(self, root: Root, unit: str, extra_env: Mapping[str, str], log: Path) -> None:
        argv, env, (uid, gid, gids) = unit_command(root, unit)
        keys = parse_unit((root / f"etc/systemd/system/{unit}").read_text())
        run = ["chroot", f"--userspec={uid}:{gid}", f"--groups={gids}", str(root.path),
               "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in {**env, **extra_env}.items()),
               *argv]  # fmt: skip
        self.log = log
        self._out = open(log, "ab")  # closed in stop()
        # The protections live in a mount namespace of the server's own, gone when it ends.
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             f'{sandbox(root, keys)}\nexec "$@"', "sandbox", *run],
            stdout=self._out, stderr=subprocess.STDOUT, cwd="/",
        )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # systemd's stop: SIGTERM, then SIGKILL after TimeoutStopSec
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()


def copy_checkout(root: Root) -> None:
    """The working tree as `git clone` would give it (tracked and new files, nothing ignored)."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, check=True,
    ).stdout.split(b"\0")  # fmt: skip
    dest = root / CHECKOUT
    for rel in filter(None, listed):
        src = REPO / rel.decode()
        if not src.is_file():  # deleted but not yet committed
            continue
        target = dest / rel.decode()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(src.read_bytes())
        target.chmod(src.stat().st_mode & 0o777)
