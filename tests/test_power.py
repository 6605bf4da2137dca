"""Display power on the quiet_hours schedule.

HDMI-CEC and DPMS need a TV and a Wayland compositor, which a test machine has neither of, so
`cec-ctl` and `wlopm` are the one thing replaced: small scripts on PATH that record how they were
called and answer like the real tools do.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk import power
from kiosk.settings import load

from .factories import calls, fake_tool

NACK = "\tTx, Not Acknowledged (4), Max Retries"


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A PATH holding only the fakes (and Python): the machine's own tools must not answer."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}")
    return bin_dir, log


def test_quiet_windows_follow_the_timezone_and_wrap_past_midnight(tmp_path: Path) -> None:
    s = load(
        overrides={"quiet_hours": ["mon-fri 19:00-07:00"], "timezone": "Europe/Berlin"},
        environ={},
    )

    def berlin(day: int, hh: int, mm: int = 0) -> datetime:  # day: 2024-07-01 is a Monday
        from zoneinfo import ZoneInfo

        return datetime(2024, 7, day, hh, mm, tzinfo=ZoneInfo("Europe/Berlin"))

    assert power.quiet_at(s, berlin(1, 20))  # Monday evening
    assert power.quiet_at(s, berlin(2, 6, 59))  # Tuesday before seven: Monday's window
    assert not power.quiet_at(s, berlin(2, 7))
    assert power.quiet_at(s, berlin(6, 6))  # Saturday early: Friday's window still runs
    assert not power.quiet_at(s, berlin(6, 20))  # Saturday evening: no window starts
    # 17:30 UTC is 19:30 in Berlin in summer: the settings' zone decides, not the machine's.
    assert power.quiet_at(s, datetime(2024, 7, 1, 17, 30, tzinfo=UTC))
    assert not power.quiet_at(load(environ={}), berlin(1, 20))  # no quiet_hours: never dark


def test_off_uses_cec_standby_when_the_tv_answers(tools: tuple[Path, Path]) -> None:
    bin_dir, log = tools
    fake_tool(bin_dir, "cec-ctl", log)
    fake_tool(bin_dir, "wlopm", log)
    how = power.switch(False)
    assert "HDMI-CEC standby" in how
    assert calls(log) == ["cec-ctl --playback --to 0 --standby"]  # DPMS left alone


def test_off_falls_back_to_dpms_when_nobody_acknowledges(tools: tuple[Path, Path]) -> None:
    bin_dir, log = tools
    fake_tool(bin_dir, "cec-ctl", log, output=NACK)  # a monitor: no CEC on the other end
    fake_tool(bin_dir, "wlopm", log)
    assert power.switch(False) == "DPMS off (wlopm)"
    assert calls(log) == ["cec-ctl --playback --to 0 --standby", "wlopm --off *"]


def test_off_falls_back_to_dpms_without_cec_ctl(tools: tuple[Path, Path]) -> None:
    bin_dir, log = tools
    fake_tool(bin_dir, "wlopm", log)
    assert power.switch(False) == "DPMS off (wlopm)"
    assert calls(log) == ["wlopm --off *"]


def test_on_wakes_both_ways(tools: tuple[Path, Path]) -> None:
    bin_dir, log = tools
    fake_tool(bin_dir, "cec-ctl", log)
    fake_tool(bin_dir, "wlopm", log)
    how = power.switch(True)
    assert "image-view-on" in how and "DPMS on" in how
    assert sorted(calls(log)) == ["cec-ctl --playback --to 0 --image-view-on", "wlopm --on *"]


def test_nothing_works_says_what_to_do(tools: tuple[Path, Path]) -> None:
    bin_dir, log = tools
    fake_tool(bin_dir, "cec-ctl", log, output="Failed to open /dev/cec0", status=1)
    fake_tool(bin_dir, "wlopm", log, output="failed to connect to display", status=1)
    with pytest.raises(power.PowerError) as err:
        power.switch(False)
    text = str(err.value)
    assert "Failed to open /dev/cec0" in text and "failed to connect to display" in text
    assert "HDMI-CEC" in text and "WAYLAND_DISPLAY" in text


def test_kiosk_power_command(tools: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    from kiosk.cli import main

    bin_dir, log = tools
    fake_tool(bin_dir, "cec-ctl", log)
    config = tmp_path / "kiosk.toml"
    config.write_text('quiet_hours = ["mon-sun 00:00-24:00"]\ntimezone = "Europe/Berlin"\n')
    assert main(["power", "auto", "--config", str(config)]) == 0
    assert "quiet hours: HDMI-CEC standby sent" in capsys.readouterr().out
    config.write_text("quiet_hours = []\n")
    assert main(["power", "auto", "--config", str(config)]) == 0
    assert main(["power", "off", "--config", str(config)]) == 0
    assert calls(log) == [
        "cec-ctl --playback --to 0 --standby",
        "cec-ctl --playback --to 0 --image-view-on",
        "cec-ctl --playback --to 0 --standby",
    ]
    os.unlink(bin_dir / "cec-ctl")
    assert main(["power", "on", "--config", str(config)]) == 2  # nothing to switch with
    assert "could not switch the display on" in capsys.readouterr().err
