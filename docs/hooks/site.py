"""MkDocs hook: pages that live elsewhere in the repository, and MathJax served from the site itself.

- theory/ (THEORY.md, the notes, the notebooks) and CHANGELOG.md stay where the code and the README cite them; they
  are added to the site under the same paths (theory/THEORY.md -> theory/THEORY/), so their relative links work
  unchanged. A new notebook or note in theory/ is picked up here; add its line to the nav in mkdocs.yml (the strict
  build fails on a page missing from the nav).
- The notebooks' formulas ($...$ in their markdown cells, which nbconvert leaves as written) are marked as
  pymdownx.arithmatex marks those of the Markdown pages, so the one MathJax configuration typesets both.
- MathJax 3 comes from the PyPI package django-static-mathjax (installed by the `docs` extra; it has no
  dependency, Django included): its es5/tex-chtml.js and CHTML fonts are copied to site/assets/mathjax/, so no
  page loads anything from a CDN.
"""

from __future__ import annotations

import glob
import os
import re

import mkdocs.plugins
from mkdocs.structure.files import File, Files

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Repository files published as pages, relative to the repository root (globs).
REPOSITORY_PAGES = ("theory/*.md", "theory/*.ipynb", "CHANGELOG.md")
MATHJAX_DEST = "assets/mathjax"


def _mathjax_es5() -> str:
    try:
        import mathjax  # the django-static-mathjax distribution's package
    except ImportError as error:
        raise RuntimeError('MathJax is missing: pip install -e ".[docs]" (django-static-mathjax)') from error
    es5 = os.path.join(os.path.dirname(mathjax.__file__), "static", "mathjax", "es5")
    if not os.path.isfile(os.path.join(es5, "tex-chtml.js")):
        raise RuntimeError(f"no es5/tex-chtml.js under {es5}: reinstall django-static-mathjax")
    return es5


@mkdocs.plugins.event_priority(100)  # before mkdocs-jupyter's on_files, which claims the notebooks added here
def on_files(files: Files, config) -> Files:
    for pattern in REPOSITORY_PAGES:
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            relative = os.path.relpath(path, ROOT).replace(os.sep, "/")
            files.append(File(relative, ROOT, config.site_dir, config.use_directory_urls))
    es5 = _mathjax_es5()
    wanted = ["tex-chtml.js"] + [
        os.path.relpath(font, es5) for font in sorted(glob.glob(os.path.join(es5, "output/chtml/fonts/woff-v2/*")))
    ]
    for relative in wanted:
        src_uri = f"{MATHJAX_DEST}/{relative.replace(os.sep, '/')}"
        files.append(File.generated(config, src_uri, abs_src_path=os.path.join(es5, relative)))
    return files


# The notebooks' markdown cells reach the page through nbconvert, which leaves their formulas as written ($...$ and
# $$...$$); MathJax here typesets only what pymdownx.arithmatex marks (docs/javascripts/mathjax.js). Each formula of a
# notebook page is therefore marked the same way, outside code, outputs and scripts.
_RAW_BLOCK = re.compile(r"<(pre|code|script|style|textarea)\b.*?</\1>|<div class=\"clipboard-copy-txt\"[^>]*>.*?</div>",
                        re.DOTALL | re.IGNORECASE)  # code, outputs, scripts, and the copy of each cell's source
_NOTEBOOK_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$([^$]+?)\$", re.DOTALL)  # inline math may wrap a line


def _mark_math(text: str) -> str:
    def marked(match: re.Match) -> str:
        if match.group(1) is not None:
            return f'<span class="arithmatex">\\[{match.group(1)}\\]</span>'
        return f'<span class="arithmatex">\\({match.group(2)}\\)</span>'

    return _NOTEBOOK_MATH.sub(marked, text)


def on_page_content(html: str, page, config, files) -> str:
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    marked, start = [], 0
    for block in _RAW_BLOCK.finditer(html):
        marked += [_mark_math(html[start:block.start()]), block.group(0)]
        start = block.end()
    return "".join(marked) + _mark_math(html[start:])
