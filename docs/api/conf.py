"""Sphinx configuration of the API reference (built from the docstrings).

    python -m sphinx -W --keep-going -b html docs/api docs/api/_build
"""

from xmr import __version__

project = "xmr"
release = version = __version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True  # "Attributes" sections as fields: NamedTuple fields are not described twice
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
nitpicky = False
html_theme = "alabaster"
exclude_patterns = ["_build"]
suppress_warnings = ["ref.python"]  # names of numpy/scipy types in signatures resolve nowhere
