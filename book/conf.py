"""Sphinx configuration of the il6repro book.

Built by ``python -m il6repro site`` (``il6repro.site``), never by hand: it copies this folder, the runner's executed
notebooks, figures and a snapshot of the run (``_run/run.json``: ledger, receipts, methods, figure provenance,
sweep summary) into ``build/book/src`` and runs Sphinx there. Notebooks are rendered by MyST-NB with execution off:
the runner is the one place that executes. Everything is offline: the theme's assets are local, and math is shown
as TeX source rather than loading MathJax from a CDN.
"""

project = "IL-6 and the brain: a reproducible paper"
author = "il6repro contributors"
copyright = "il6repro contributors; data under their own licences"

extensions = ["myst_nb", "sphinxcontrib.bibtex", "il6repro.book"]

# MyST-NB renders the runner's executed copies and never runs a kernel
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "plain"  # author-year citations in the text: the list sorted by author, without numbers (il6repro.css)
bibtex_reference_style = "author_year"

numfig = True
numfig_format = {"figure": "Figure %s", "table": "Table %s"}

exclude_patterns = ["_build", "_run", "_student", "_include", "**.ipynb_checkpoints", "teaching/README.md"]
root_doc = "index"

html_theme = "sphinx_book_theme"
html_title = "IL-6 and the brain"
html_static_path = ["_static"]
html_css_files = ["il6repro.css"]
html_js_files = ["ledger.js", "search-summary.js"]
html_use_index = False  # nothing is indexed: the empty genindex.html was linked from every page's head
html_copy_source = True  # the download button offers each notebook's .ipynb
html_show_sourcelink = False
html_math_renderer = "il6repro_tex"  # no MathJax: nothing may be fetched from a CDN
html_favicon = "_static/favicon.svg"  # a local icon, so the browser does not ask for a missing /favicon.ico
html_context = {"default_mode": "light"}  # the theme logs an error when no colour mode is set
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "navigation_with_keys": False,
    "show_navbar_depth": 1,
    "navbar_persistent": [],  # the search field sits in the sidebar; no top bar
}
