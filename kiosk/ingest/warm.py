"""Imported once, in the process every photo decoder is forked from (see isolated.py), never in
the server: the decoders and the face finder, loaded there, cost each photo nothing to load.

pillow-heif before libvips (decoders.vips says why); a library that is missing is skipped, as
it would be on first use.
"""

import warnings

from .. import faces
from .decoders import openers, vips

# Each child runs the program's main module again after this one loaded it (isolated.py): that is
# on purpose, so runpy's warning about it would only fill the log, once a photo.
warnings.filterwarnings("ignore", "'.*' found in sys.modules", RuntimeWarning, "runpy")
openers()
vips()
if faces.opencv() is not None:
    faces.classifier()
