"""Hallway Kiosk: customer stories on hallway screens."""

from pathlib import Path

__version__ = "0.1.0"
# Where deploy/raspberry-pi/install.sh writes the server's settings; every `kiosk` command reads
# it when neither --config nor KIOSK_CONFIG says otherwise. Here, not in kiosk.settings, so
# that `kiosk --help` can name it without loading the settings.
SYSTEM_CONFIG = Path("/etc/kiosk/kiosk.toml")
