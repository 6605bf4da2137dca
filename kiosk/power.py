"""Display power on the `quiet_hours` schedule: HDMI-CEC for TVs, DPMS for monitors.

A TV obeys HDMI-CEC `<Standby>` / `<Image View On>` (`cec-ctl`, from v4l-utils). A monitor has
no CEC, so the fallback is DPMS through the Wayland compositor (`wlopm`), which needs the labwc
session's WAYLAND_DISPLAY. That is why power is switched from inside the session (by `kiosk
display`, or `kiosk power` run there), not by a system service.
"""

from __future__ import annotations

import glob
import logging
import shutil
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime

from .schedule import is_quiet
from .settings import Settings

log = logging.getLogger(__name__)

CEC_TIMEOUT = 10.0  # a CEC bus with no TV can take seconds to give up on a message


class PowerError(RuntimeError):
    """Neither HDMI-CEC nor DPMS could switch the display; the message says what to do."""


def quiet_at(settings: Settings, when: datetime | None = None) -> bool:
    """Should the screens be dark at `when` (default now), by `quiet_hours` in `timezone`?"""
    moment = when or datetime.now(UTC)
    return is_quiet(settings.quiet_windows, moment.astimezone(settings.zone))


def cec_devices() -> list[str]:
    """The HDMI-CEC adapters (a Pi 4/5 has one per HDMI port)."""
    return sorted(glob.glob("/dev/cec[0-9]*"))


def _run(argv: Sequence[str]) -> tuple[bool, str]:
    """Run a power tool; (worked, what it said)."""
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=CEC_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    said = (done.stdout + done.stderr).strip()
    # cec-ctl reports a message nobody acknowledged (no TV, CEC off in the TV's menu) in its
    # output; the display did not hear it, so DPMS must still be tried.
    worked = done.returncode == 0 and "not acknowledged" not in said.lower()
    return worked, said.splitlines()[-1] if said else f"exit status {done.returncode}"


def _cec(on: bool) -> tuple[bool, str]:
    if shutil.which("cec-ctl") is None:
        return False, "cec-ctl is not installed (sudo apt install v4l-utils)"
    message = "--image-view-on" if on else "--standby"
    notes = []
    # No adapter found still runs cec-ctl once, on its default device, so its own error is shown.
    for device in cec_devices() or [None]:
        where = ["-d", device] if device else []
        # --playback claims a logical address first; a Pi's adapter has none after boot.
        worked, said = _run(["cec-ctl", *where, "--playback", "--to", "0", message])
        if worked:
            return True, f"HDMI-CEC {message[2:]} sent" + (f" on {device}" if device else "")
        notes.append(said)
    return False, "HDMI-CEC: " + "; ".join(notes)


def _dpms(on: bool) -> tuple[bool, str]:
    if shutil.which("wlopm") is None:
        return False, "wlopm is not installed (sudo apt install wlopm)"
    worked, said = _run(["wlopm", "--on" if on else "--off", "*"])
    if not worked:
        return False, f"wlopm: {said}"
    return True, f"DPMS {'on' if on else 'off'} (wlopm)"


def switch(on: bool) -> str:
    """Turn the display on or off; returns how, or raises PowerError saying what failed."""
    if on:
        # Both, always: DPMS may have been the way it went off, and CEC wakes a TV in standby.
        dpms_ok, dpms = _dpms(True)
        cec_ok, cec = _cec(True)
        if cec_ok or dpms_ok:
            return "; ".join(how for ok, how in ((cec_ok, cec), (dpms_ok, dpms)) if ok)
    else:
        cec_ok, cec = _cec(False)
        if cec_ok:
            return cec
        dpms_ok, dpms = _dpms(False)
        if dpms_ok:
            return dpms
    raise PowerError(
        f"could not switch the display {'on' if on else 'off'}: {cec}; {dpms}. "
        "TVs need HDMI-CEC turned on in their settings; monitors need wlopm, run inside "
        "the labwc session (WAYLAND_DISPLAY set)"
    )


def apply_schedule(settings: Settings, when: datetime | None = None) -> tuple[bool, str]:
    """Switch the display to what `quiet_hours` says for `when`; (quiet, how)."""
    quiet = quiet_at(settings, when)
    return quiet, switch(not quiet)
