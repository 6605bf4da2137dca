"""The [stories] share install.sh writes: checked by testparm, then served by a real smbd.

The smbd runs as root on a loopback port with a private smb.conf, its own state folders and a
private password database, so it touches nothing of the machine's own Samba.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .factories import jpeg, story
from .support import LiveServer, dry_run, free_port, make_settings, wait_for

PASSWORD = "Stories-2-Share"
STATUS = "_status.txt"
USER = "root"  # smbpasswd needs an existing Unix account; the test runs as root


def share_section(tmp_path: Path, content: Path, group: str = "kiosk-staff") -> Path:
    """The share file install.sh writes for `content`, from a dry run into tmp_path."""
    root = tmp_path / "root"
    dry_run(root, "--no-screen", "--content-dir", str(content), "--staff-group", group)
    return root / "etc/samba/kiosk-stories.conf"


def private_smb_conf(tmp_path: Path, port: int, include: Path) -> Path:
    state = tmp_path / "samba"
    dirs = {d: state / d for d in ("private", "lock", "state", "cache", "pid", "ncalrpc", "log")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    conf = tmp_path / "smb.conf"
    conf.write_text(
        "[global]\n"
        "   server role = standalone server\n"
        f"   smb ports = {port}\n"
        "   interfaces = lo\n   bind interfaces only = yes\n   disable netbios = yes\n"
        f"   passdb backend = tdbsam:{dirs['private']}/passdb.tdb\n"
        f"   private dir = {dirs['private']}\n   lock directory = {dirs['lock']}\n"
        f"   state directory = {dirs['state']}\n   cache directory = {dirs['cache']}\n"
        f"   pid directory = {dirs['pid']}\n   ncalrpc dir = {dirs['ncalrpc']}\n"
        f"   log file = {dirs['log']}/smbd.log\n"
        "   load printers = no\n   printing = bsd\n   printcap name = /dev/null\n"
        "   disable spoolss = yes\n"
        f"include = {include}\n"
    )
    return conf


def run_testparm(conf: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["testparm", "-s", str(conf)], capture_output=True, text=True, timeout=30)


def test_share_section_passes_testparm(tmp_path: Path) -> None:
    section = share_section(tmp_path, Path("/srv/stories"))
    done = run_testparm(private_smb_conf(tmp_path, 4455, section))
    assert done.returncode == 0, done.stderr
    assert "Unknown parameter" not in done.stderr and "Ignoring unknown" not in done.stderr
    share = done.stdout.split("[stories]", 1)[1]
    for line in (
        "path = /srv/stories",
        "valid users = @kiosk-staff",
        "force group = kiosk-staff",
        "create mask = 0664",
        "veto files = /.DS_Store/Thumbs.db/desktop.ini/._*/",
        "delete veto files = Yes",
        "fruit:metadata = stream",
        "read only = No",
        "vfs objects = catia fruit streams_xattr recycle",
        "recycle:repository = .recycle/%U",
        "recycle:keeptree = yes",
        "recycle:versions = yes",
    ):
        assert line in share, f"{line!r} missing from\n{share}"
    assert "guest ok = Yes" not in share
    sweep = section.parents[2] / "etc/tmpfiles.d/kiosk-recycle.conf"  # the bin keeps 30 days
    assert sweep.read_text() == "e /srv/stories/.recycle - - - 30d\n"


@pytest.fixture
def smbd(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A real smbd serving the generated [stories] share of a fresh content folder."""
    content = tmp_path / "content"
    content.mkdir()
    # The staff group of the share is root's own here: the Unix account smbpasswd needs.
    section = share_section(tmp_path, content, group="root")
    port = free_port()
    conf = private_smb_conf(tmp_path, port, section)
    subprocess.run(
        ["smbpasswd", "-c", str(conf), "-s", "-a", USER],
        input=f"{PASSWORD}\n{PASSWORD}\n", text=True, check=True, capture_output=True,
    )  # fmt: skip
    log = (tmp_path / "smbd.out").open("w")
    proc = subprocess.Popen(
        ["smbd", "--foreground", "--no-process-group", "--debug-stdout", "-s", str(conf)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(lambda: listening(port) or proc.poll() is not None, timeout=20)
        assert proc.poll() is None, (tmp_path / "smbd.out").read_text()
        yield port, content
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()


def names(folder: Path) -> list[str]:
    """What is in the folder, besides the status file the server keeps there for staff."""
    return sorted(p.name for p in folder.iterdir() if p.name != STATUS)


def listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def smbclient(port: int, workdir: Path, commands: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["smbclient", "-p", str(port), "//127.0.0.1/stories", "-U", f"{USER}%{PASSWORD}",
         "-c", commands],
        cwd=workdir, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_files_dropped_on_the_share_become_one_pending_story(
    smbd: tuple[int, Path], tmp_path: Path
) -> None:
    port, content = smbd
    server = LiveServer(make_settings(tmp_path, content_dir=content)).start()
    try:
        outbox = tmp_path / "outbox"  # what a Mac user drags onto the share
        outbox.mkdir()
        (outbox / "babette.md").write_text(story("Babette Ruiz", role="Swing-shift foreman"))
        (outbox / "babette.jpg").write_bytes(jpeg())
        (outbox / "fork.bin").write_bytes(b"\0\0\1\0" + b"resource fork" * 20)
        done = smbclient(
            port,
            outbox,
            # the story under an rsync-style temp name first, as a copy in progress leaves it
            "put babette.md .babette.md.Xa91Zq; put babette.jpg; "
            # Finder's resource fork: vfs_fruit stores it as the AppleDouble file ._babette.jpg
            "put fork.bin babette.jpg:AFP_Resource; "
            # an AppleDouble file sent by name is vetoed
            "put babette.jpg ._babette.jpg; "
            "rename .babette.md.Xa91Zq babette.md; ls",
        )
        said = done.stdout + done.stderr
        assert done.returncode == 0, said
        assert "NT_STATUS_OBJECT_NAME_NOT_FOUND opening remote file \\._babette.jpg" in said
        listed = [line.split()[0] for line in done.stdout.splitlines() if line.startswith("  ")]
        assert sorted(set(listed) - {STATUS}) == [
            ".",
            "..",
            "babette.jpg",
            "babette.md",
        ]  # staff see no ._ file
        # On disk the fork is there, as vfs_fruit wrote it, beside the story and the photo.
        assert names(content) == ["._babette.jpg", "babette.jpg", "babette.md"]

        pending = server.wait_status("babette.md", "pending", timeout=20)
        assert pending["name"] == "Babette Ruiz" and pending["photo_path"] == "babette.jpg"
        assert not pending["problems"]
        server.watcher.wait_for_pass()
        subs = server.submissions()
        assert [(s["source"], s["status"]) for s in subs] == [("babette.md", "pending")]

        # Deleting the photo from a Mac also deletes its vetoed ._ file: nothing is left over
        # but the recycle bin, which keeps the photo, out of the watcher's sight.
        done = smbclient(port, outbox, "del babette.jpg")
        assert done.returncode == 0, done.stdout + done.stderr
        assert names(content) == [".recycle", "babette.md"]
        assert (content / ".recycle" / USER / "babette.jpg").read_bytes() == jpeg()

        # A colleague deletes the story: it leaves the screens, and an admin can put it back.
        done = smbclient(port, outbox, "del babette.md")
        assert done.returncode == 0, done.stdout + done.stderr
        server.wait_status("babette.md", "retired", timeout=20)
        kept = content / ".recycle" / USER / "babette.md"
        assert "Babette Ruiz" in kept.read_text()
        server.watcher.wait_for_pass()
        assert [s["source"] for s in server.submissions()] == ["babette.md"]  # nothing from the bin
    finally:
        server.stop()
