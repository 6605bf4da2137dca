"""Imported once, in the process every photo decoder is forked from (see isolated.py), never in
the server: the decoders and the face finder, loaded there, cost each photo nothing to load.

pillow-heif before libvips (decoders.vips says why); a library that is missing is skipped, as
it would be on first use.
"""

from ..faces import opencv
from .decoders import openers, vips

openers()
vips()
opencv()
