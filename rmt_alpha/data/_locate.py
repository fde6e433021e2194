"""Where a registry artifact is: its address, read from the registry's own metadata (the artifact itself is
downloaded and checked by `rmt_alpha.data._fetch.download_url`).

The Python package index is `$PIP_INDEX_URL` (as pip reads it), else `PYPI_INDEX`; the npm registry is
`$npm_config_registry` (as npm reads it), else `NPM_REGISTRY`. Only small metadata documents are read here.
"""

from __future__ import annotations

import html.parser
import os
import re
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from rmt_alpha.data._cache import FetchError
from rmt_alpha.data._registry import NPM_REGISTRY, PYPI_INDEX, Artifact

TIMEOUT_S = 60          # seconds without an answer (to connect, or between two reads) before a request is given up
_PYPI_INDEX_VARIABLES = ("PIP_INDEX_URL",)
_NPM_REGISTRY_VARIABLES = ("npm_config_registry", "NPM_CONFIG_REGISTRY")
_SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


def shown(url: str) -> str:
    """`url` without the password or token a private registry's address may carry.

    Example:
        >>> from rmt_alpha.data._locate import shown
        >>> shown("https://me:token@index.example/simple/")
        'https://***@index.example/simple/'
    """
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]).geturl()


def failure(error) -> str:
    """What went wrong in a request, said without its URL (an HTTP error's text repeats the URL, password included)."""
    response = getattr(error, "response", None)
    if response is not None:
        return f"HTTP {response.status_code} {response.reason}"
    return f"{type(error).__name__}: {error}"


def _registry_base(variables: tuple, default: str) -> str:
    """The registry base address: the first of the environment `variables` that is set, else `default`."""
    for variable in variables:
        value = os.environ.get(variable, "").strip()
        if value:
            return value.rstrip("/")
    return default.rstrip("/")


class _Links(html.parser.HTMLParser):
    """The `href` of every `<a>` of an HTML page (a PEP 503 project page lists one per file)."""

    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [value for key, value in attrs if key == "href" and value]


def _document(url: str, what: str, accept: str):
    """The answer of a registry to a GET of `url` (metadata, not the artifact); FetchError if there is none."""
    import requests

    try:
        response = requests.get(url, headers={"Accept": accept}, timeout=TIMEOUT_S)
        response.raise_for_status()
        return response
    except requests.exceptions.RequestException as error:
        raise FetchError(f"could not read {what} at {shown(url)} ({failure(error)})") from error


def artifact_url(artifact: Artifact) -> str:
    """The address of a registry artifact, read from the registry's own metadata (nothing else is downloaded).

    PyPI: the simple API's page of the project, `<index>/<normalized name>/` (PEP 691 JSON, or PEP 503 HTML when
    that is what the index serves), lists each file of each release by name; the one named `artifact.filename` is
    taken. npm: the field dist.tarball of the document `<registry>/<package>/<version>`. The index is
    `$PIP_INDEX_URL`, else `PYPI_INDEX`; the npm registry `$npm_config_registry`, else `NPM_REGISTRY`.

    Args:
        artifact: the artifact (its registry, package, version and file name).

    Returns:
        The URL of the file.

    Raises:
        FetchError: the registry did not answer, or its metadata does not list the file.

    Example:
        >>> from rmt_alpha.data._locate import artifact_url
        >>> from rmt_alpha.data._registry import ITEMS
        >>> artifact_url(ITEMS["reviews-text"].artifacts[1]).endswith("/sentiment-5.0.2.tgz")   # doctest: +SKIP
        True
    """
    if artifact.registry == "npm":
        url = f"{_registry_base(_NPM_REGISTRY_VARIABLES, NPM_REGISTRY)}/{artifact.package}/{artifact.version}"
        what = f"the npm registry's document of {artifact.package} {artifact.version}"
        try:
            return urljoin(url, _document(url, what, "application/json").json()["dist"]["tarball"])
        except (ValueError, KeyError, TypeError) as error:
            raise FetchError(f"{what} at {shown(url)} has no dist.tarball ({type(error).__name__}: {error})") \
                from error
    name = re.sub(r"[-_.]+", "-", artifact.package).lower()         # PEP 503 normalization
    url = f"{_registry_base(_PYPI_INDEX_VARIABLES, PYPI_INDEX)}/{name}/"
    what = f"the package index's page of {artifact.package}"
    response = _document(url, what, f"{_SIMPLE_JSON}, text/html;q=0.1")
    try:
        if response.headers.get("Content-Type", "").split(";")[0].strip() == _SIMPLE_JSON:
            files = {entry["filename"]: entry["url"] for entry in response.json()["files"]}
        else:
            links = _Links()
            links.feed(response.text)
            files = {unquote(urlsplit(href).path.rsplit("/", 1)[-1]): href for href in links.hrefs}
    except (ValueError, KeyError, TypeError) as error:
        raise FetchError(f"{what} at {shown(url)} is not a simple API page ({type(error).__name__}: {error})") \
            from error
    if artifact.filename not in files:
        raise FetchError(f"{what} at {shown(url)} does not list {artifact.filename} (release {artifact.version})")
    return urldefrag(urljoin(url, files[artifact.filename])).url
