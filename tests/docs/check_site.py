"""Check the built documentation site in a headless browser (CI runs it after `mkdocs build --strict`).

Serves the site on 127.0.0.1 (a free port), opens pages with headless Chromium and checks what only a browser
shows: that MathJax (served from the site itself, no CDN) typeset every formula, with its fonts, on the THEORY
page, the theory-in-brief page and every other page with a formula, and that the API reference lists
`choose_alpha`. Not a pytest test (it needs a browser and
a built site):

    python tests/docs/check_site.py SITE_DIR [--screenshots DIR]

Exit status 0 when every check passes; 1 with one line per failure otherwise.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
VIRTUAL_TIME_MS = 10000  # the page's own clock: MathJax loads and typesets well within it
REQUIRED_MATH_PAGES = ("theory/THEORY/", "guide/theory/")  # and every other page with a formula
API_PAGE = "api/"
API_NAMES = ("choose_alpha",)
SCREENSHOTS = {"theory.png": "theory/THEORY/", "api.png": "api/"}


def find_browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit(f"no headless browser found (looked for {', '.join(BROWSERS)}): apt-get install chromium")


def serve(site: str) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve `site` on 127.0.0.1 at a free port in a daemon thread; returns the server and its base URL."""
    handler = functools.partial(_QuietHandler, directory=site)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requested: list[str] = []  # every path asked for, in order (the browser's requests)

    def log_message(self, format, *args):  # noqa: A002 (the base class's signature)
        pass

    def do_GET(self):
        _QuietHandler.requested.append(self.path)
        super().do_GET()


def browse(browser: str, url: str, *extra: str) -> str:
    """The page's DOM after VIRTUAL_TIME_MS of its own time (scripts run, MathJax typesets), or the browser's
    output with `extra` (e.g. --screenshot=FILE)."""
    with tempfile.TemporaryDirectory() as profile:
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                   "--hide-scrollbars", f"--user-data-dir={profile}", f"--virtual-time-budget={VIRTUAL_TIME_MS}",
                   *(extra or ("--dump-dom",)), url]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{os.path.basename(browser)} exited {result.returncode} on {url}: {result.stderr[-500:]}")
    return result.stdout


def math_pages(site: str) -> list[str]:
    """The pages with a formula (REQUIRED_MATH_PAGES first, whether or not they have one), as site paths."""
    found = []
    for folder, _, names in sorted(os.walk(site)):
        if "index.html" in names and count_math(site, os.path.relpath(folder, site)):
            found.append(os.path.relpath(folder, site).replace(os.sep, "/") + "/")
    return list(REQUIRED_MATH_PAGES) + [page for page in found if page not in REQUIRED_MATH_PAGES]


def count_math(site: str, page: str) -> int:
    """How many formulas pymdownx.arithmatex marked in the built page (each must become one MathJax container)."""
    with open(os.path.join(site, page, "index.html"), encoding="utf-8") as file:
        return len(re.findall(r'class="arithmatex"', file.read()))


def check(site: str, screenshots: str | None = None) -> list[str]:
    browser = find_browser()
    server, base = serve(site)
    failures = []
    try:
        for page in math_pages(site):
            formulas = count_math(site, page)
            _QuietHandler.requested.clear()
            dom = browse(browser, base + page)
            # the glyphs: MathJax's CHTML fonts, fetched from the site when a formula needs them (MathJax_Zero alone
            # is only its placeholder font: the formulas would be blank)
            fonts = {os.path.basename(path) for path in _QuietHandler.requested if path.endswith(".woff")}
            glyph_fonts = fonts - {"MathJax_Zero.woff"}
            typeset = len(re.findall(r"<mjx-container\b", dom))
            errors = len(re.findall(r"<mjx-merror\b", dom))
            print(f"{page}: {formulas} formulas, {typeset} MathJax containers, {errors} TeX errors, "
                  f"{len(glyph_fonts)} MathJax fonts loaded")
            if formulas == 0:
                failures.append(f"{page}: no formula marked by arithmatex in the built page")
            if typeset != formulas:  # fewer: MathJax missing or stopped; more: something typeset twice
                failures.append(f"{page}: {typeset} MathJax containers for {formulas} formulas (is MathJax served?)")
            if errors:
                failures.append(f"{page}: {errors} formulas MathJax could not parse")
            if not glyph_fonts:
                failures.append(f"{page}: MathJax loaded no font for its glyphs (the formulas are blank)")
        dom = browse(browser, base + API_PAGE)
        for name in API_NAMES:
            listed = f'id="rmt_alpha.{name}"' in dom
            print(f"{API_PAGE}: rmt_alpha.{name} {'listed' if listed else 'MISSING'}")
            if not listed:
                failures.append(f"{API_PAGE}: rmt_alpha.{name} is not listed")
        if screenshots:
            os.makedirs(screenshots, exist_ok=True)
            for name, page in SCREENSHOTS.items():
                path = os.path.abspath(os.path.join(screenshots, name))
                browse(browser, base + page, "--window-size=1280,2000", f"--screenshot={path}")
                print(f"screenshot of {page}: {path}")
    finally:
        server.shutdown()
    return failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", help="the built site (mkdocs build --site-dir SITE)")
    parser.add_argument("--screenshots", metavar="DIR", help="also save PNGs of the THEORY and API pages here")
    args = parser.parse_args(argv)
    failures = check(args.site, args.screenshots)
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    print("site check:", "passed" if not failures else f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
