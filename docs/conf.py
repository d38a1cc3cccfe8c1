"""Sphinx configuration for the omnillm documentation (``sphinx-build -W -b html docs docs/_build``)."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

from omnillm import __version__

project = "omnillm"
author = "the omnillm authors"
release = __version__
version = __version__

extensions = ["sphinx.ext.autodoc"]
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "undoc-members": False}
# Docstrings write names in single backticks; render them as code, never as broken links.
default_role = "literal"
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list = []
nitpicky = False
