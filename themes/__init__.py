"""The shipped slide themes, installed as the package `kiosk.themes` (see pyproject.toml).

This folder stays at the top of the repository, where the project's layout puts it; the build maps
it into the package so an installed copy finds its themes through `importlib.resources`.
"""
