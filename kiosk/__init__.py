"""Hallway Kiosk: customer stories on hallway screens."""

__version__ = "0.1.0"
