"""Sphinx configuration of lvmfast's documentation.

Build it from the repository root with
``pip install '.[docs]' && sphinx-build -W --keep-going -b html docs docs/_build/html``.
The API reference is written at build time from ``lvmfast.__all__`` and the
public subpackages' ``__all__`` (``docs/_ext/lvmfast_api.py``), the gallery
from ``examples/plot_*.py`` (sphinx-gallery), and the user guide's toctree
globs ``docs/user_guide/``: a new name, page or example needs no edit here.
"""
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the gallery draws off screen

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

import lvmfast  # noqa: E402  (the installed or PYTHONPATH package the API pages describe)

project = "lvmfast"
author = "the lvmfast developers"
copyright = "the lvmfast developers"
version = release = lvmfast.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax shipped with the site, so the equations render offline too
    "sphinx-mathjax-offline",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "lvmfast_api",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "api/generated/*.examples", "**.ipynb_checkpoints", "auto_examples/*.md5", "auto_examples/*.codeobj.json"]
root_doc = "index"

# Every cross-reference must resolve: a broken :class: or :func: is a warning,
# and the build runs with warnings as errors.
nitpicky = True

autosummary_generate = True
autodoc_typehints = "none"

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# Every documented function and method lists its parameters (PR01, PR02) and,
# where it returns something, its returns (RT01); lvmfast_api adds the check
# that every public class and function has an Examples section.
numpydoc_validation_checks = {"PR01", "PR02", "RT01"}
numpydoc_validation_exclude = {r"\.__init__$", r"\.__repr__$"}

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
    "sklearn": ("https://scikit-learn.org/stable/", None),
    "dask": ("https://docs.dask.org/en/stable/", None),
}
# The build must not need the network (CI, a fresh clone offline): intersphinx
# inventories are fetched only when LVMFAST_DOCS_INTERSPHINX=1.
if os.environ.get("LVMFAST_DOCS_INTERSPHINX") != "1":
    intersphinx_mapping = {}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("lvmfast",),
    "backreferences_dir": "api/generated/backreferences",
    "reference_url": {"lvmfast": None},
    "remove_config_comments": True,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "show_memory": False,
    "download_all_examples": False,
    "plot_gallery": "True",
}

html_theme = "pydata_sphinx_theme"
html_title = f"lvmfast {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False
