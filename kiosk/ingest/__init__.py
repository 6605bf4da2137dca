"""Dropped files -> revisions in the library.

`scan` finds entries in the content folder, `story` reads one entry's text, `images` renders its
photo, `pipeline` turns an entry into a revision (`prepare`, then `record`), and `watcher` decides
when: it settles files and runs the pipeline over them, pass after pass.
"""
