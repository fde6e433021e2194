"""fetch and the cache: downloads from a local HTTP server on 127.0.0.1 (hash match, mismatch, interrupted
transfer, corrupted cache), registry artifacts found through a stand-in package index and npm registry on the same
server (a tampered sdist that would leave a marker file if it were ever built, an interrupted one, the happy path,
a copy placed by hand), the search path, and the messages.

No test here reaches the network: every URL points at a server this file starts on the loopback interface.
"""

import ast
import gzip
import hashlib
import http.server
import io
import json
import os
import tarfile
import threading
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import pytest

from rmt_alpha._io import data_roots
from rmt_alpha.data import _fetch, _locate, _registry
from rmt_alpha.data._cache import CorruptFileError, find_item
from rmt_alpha.data._fetch import FetchError, download_url, fetch

PAYLOAD = bytes(range(256)) * 64          # 16 KiB
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


def _truncated(data):
    """A route that announces all of `data` (Content-Length), sends a quarter and hangs up."""
    return ("truncated", data)


class _Handler(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list] = []
    accepts: ClassVar[list] = []
    routes: ClassVar[dict] = {}     # path -> (content type, bytes), or _truncated(bytes)

    def do_GET(self):
        type(self).requests.append(self.path)
        type(self).accepts.append(self.headers.get("Accept"))
        if self.path in self.routes:
            kind, data = self.routes[self.path]
            if kind == "truncated":
                self._truncate(data)
            else:
                self._send(data, kind)
        elif self.path == "/good.bin":
            self._send(PAYLOAD)
        elif self.path == "/other.bin":
            self._send(PAYLOAD[::-1])
        elif self.path == "/truncated.bin":
            self._truncate(PAYLOAD)
        else:
            self.send_error(404)

    def _send(self, data, content_type="application/octet-stream"):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _truncate(self, data):   # announces the whole file, sends a quarter, hangs up
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 4])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("RMT_ALPHA_DATA", str(root))
    return root


def _leftovers(folder):
    """Files other than the expected ones: temporary files of an unfinished download."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or "tmp" in p.name) \
        if folder.exists() else []


def test_download_with_the_pinned_hash_then_a_second_call_downloads_nothing(server, tmp_path):
    _Handler.requests.clear()
    target = tmp_path / "files" / "good.bin"
    assert download_url(f"{server}/good.bin", PAYLOAD_SHA, target, verbose=False) == target
    assert target.read_bytes() == PAYLOAD
    assert _Handler.requests == ["/good.bin"]
    download_url(f"{server}/good.bin", PAYLOAD_SHA, target, verbose=False)
    assert _Handler.requests == ["/good.bin"]          # already there and intact: no request


def test_a_hash_mismatch_keeps_nothing_and_names_url_and_hash(server, tmp_path):
    target = tmp_path / "files" / "good.bin"
    received = hashlib.sha256(PAYLOAD[::-1]).hexdigest()
    with pytest.raises(FetchError, match=rf"(?s)good\.bin.*other\.bin.*{received}.*{PAYLOAD_SHA}.*by hand"):
        download_url(f"{server}/other.bin", PAYLOAD_SHA, target, verbose=False)
    assert not target.exists() and _leftovers(target.parent) == []


def test_an_interrupted_transfer_keeps_nothing(server, tmp_path):
    target = tmp_path / "files" / "good.bin"
    with pytest.raises(FetchError, match=r"could not download good\.bin"):
        download_url(f"{server}/truncated.bin", PAYLOAD_SHA, target, verbose=False)
    assert not target.exists() and _leftovers(target.parent) == []


def test_a_corrupted_file_is_fetched_again(server, tmp_path):
    target = tmp_path / "good.bin"
    target.write_bytes(b"not the file")
    _Handler.requests.clear()
    download_url(f"{server}/good.bin", PAYLOAD_SHA, target, verbose=False)
    assert target.read_bytes() == PAYLOAD and _Handler.requests == ["/good.bin"]


def test_offline_the_message_says_what_where_and_how_by_hand(tmp_path):
    import socket

    with socket.socket() as probe:   # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = tmp_path / "books_400.mat"
    with pytest.raises(FetchError) as error:
        download_url(f"http://127.0.0.1:{port}/books_400.mat", PAYLOAD_SHA, target, verbose=False)
    message = str(error.value)
    assert f"http://127.0.0.1:{port}/books_400.mat" in message and str(target) in message
    assert PAYLOAD_SHA in message and "by hand" in message


def _url_item(server):
    """The amazon item re-pointed at the local server, with two small files."""
    files = {"a.bin": PAYLOAD_SHA, "b.bin": hashlib.sha256(PAYLOAD[::-1]).hexdigest()}
    return replace(_registry.ITEMS["amazon"], files=files,
                   urls={"a.bin": f"{server}/good.bin", "b.bin": f"{server}/other.bin"})


def test_fetch_writes_into_the_first_root_once_and_finds_it_afterwards(server, cache, monkeypatch, capsys):
    monkeypatch.setitem(_registry.ITEMS, "amazon", _url_item(server))
    monkeypatch.setattr(_fetch, "_counts", lambda name, folder: ["(counts)"])
    _Handler.requests.clear()
    folders = fetch("amazon", verbose=False)
    assert folders == {"amazon": cache / "amazon_review"}
    assert (cache / "amazon_review" / "a.bin").read_bytes() == PAYLOAD
    assert sorted(_Handler.requests) == ["/good.bin", "/other.bin"]
    assert find_item("amazon") == cache / "amazon_review"
    fetch("amazon")                                     # second run: verifies, downloads nothing
    assert len(_Handler.requests) == 2
    out = capsys.readouterr().out
    assert "nothing to download" in out and "licence" in out and "cite" in out and "(counts)" in out
    (cache / "amazon_review" / "b.bin").write_bytes(b"corrupt")
    with pytest.raises(CorruptFileError, match=r"b\.bin.*expected " + _url_item(server).files["b.bin"]):
        find_item("amazon")
    fetch("amazon", verbose=False)                       # re-fetches the corrupt file only
    assert _Handler.requests[2:] == ["/other.bin"]
    assert find_item("amazon") == cache / "amazon_review"


def test_an_intact_copy_in_a_later_root_is_used_and_nothing_downloaded(server, tmp_path, monkeypatch):
    item = _url_item(server)
    monkeypatch.setitem(_registry.ITEMS, "amazon", item)
    shared = tmp_path / "shared"
    (shared / "amazon_review").mkdir(parents=True)
    (shared / "amazon_review" / "a.bin").write_bytes(PAYLOAD)
    (shared / "amazon_review" / "b.bin").write_bytes(PAYLOAD[::-1])
    monkeypatch.setenv("RMT_ALPHA_DATA", os.pathsep.join([str(tmp_path / "cache"), str(shared)]))
    assert data_roots() == [tmp_path / "cache", shared]
    _Handler.requests.clear()
    assert fetch("amazon", verbose=False) == {"amazon": shared / "amazon_review"}
    assert find_item("amazon") == shared / "amazon_review" and _Handler.requests == []


def test_missing_data_names_the_item_the_source_and_the_remedy(cache):
    for name in _registry.NAMES:
        with pytest.raises(FileNotFoundError) as error:
            find_item(name)
        message = str(error.value)
        assert str(cache) in message and f"rmt-alpha fetch {name}" in message and "By hand" in message
    with pytest.raises(FileNotFoundError, match="raw.githubusercontent.com/scikit-adaptation/skada-bench/e04399f"):
        find_item("amazon")


def test_default_root_is_the_user_cache(monkeypatch):
    import platformdirs

    monkeypatch.delenv("RMT_ALPHA_DATA", raising=False)
    assert data_roots() == [platformdirs.user_cache_path("rmt_alpha", appauthor=False)]


def _tar_gz(members: dict) -> bytes:
    """The same bytes for the same members on every call (gzip's header time fixed at 0, tar's at its default 0):
    a test that builds an artifact twice, seconds apart on a loaded machine, gets the pinned hash both times."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed, \
            tarfile.open(fileobj=compressed, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def _sdist(marker, license_text=b"MIT\n"):
    """An sdist (my_pkg-1.0.tar.gz) that, like VADER's, holds a tar.gz; if anything ever built it, its setup.py or its
    in-tree build backend would write `marker`."""
    write_marker = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('built')\n".encode()
    return _tar_gz({
        "my_pkg-1.0/PKG-INFO": b"Metadata-Version: 2.1\nName: My_Pkg\nVersion: 1.0\n",
        "my_pkg-1.0/setup.py": write_marker + b"from setuptools import setup\nsetup()\n",
        "my_pkg-1.0/pyproject.toml":
            b'[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n',
        "my_pkg-1.0/backend.py": write_marker,
        "my_pkg-1.0/LICENSE": license_text,
        "my_pkg-1.0/data/inner.tar.gz": _tar_gz({"inner/one.txt": b"one\n"}),
    })


NPM_TARBALL = _tar_gz({"package/package.json": b'{"name": "thing", "version": "2.0.0"}',
                       "package/fixtures/two.json": b"[2]"})


def _registry_item(marker):
    """reviews-text re-pointed at two small artifacts: an sdist of `My_Pkg` 1.0 (package index) and the tarball of
    `thing` 2.0.0 (npm registry)."""
    sdist = _sdist(marker)
    artifacts = (
        _registry.Artifact("my_pkg-1.0.tar.gz", _sha(sdist), "pypi", "My_Pkg", "1.0", "the stand-in index page",
                           {"my_pkg-1.0/LICENSE": ("LICENSE", _sha(b"MIT\n")),
                            "my_pkg-1.0/data/inner.tar.gz!inner/one.txt": ("one.txt", _sha(b"one\n"))}),
        _registry.Artifact("thing-2.0.0.tgz", _sha(NPM_TARBALL), "npm", "thing", "2.0.0", "the stand-in npm page",
                           {"package/fixtures/two.json": ("two.json", _sha(b"[2]"))}),
    )
    files = {"LICENSE": _sha(b"MIT\n"), "one.txt": _sha(b"one\n"), "two.json": _sha(b"[2]")}
    return replace(_registry.ITEMS["reviews-text"], files=files, artifacts=artifacts)


def _routes(server, sdist, npm_tarball=NPM_TARBALL):
    """A package index (PEP 691 JSON, relative file URLs) and an npm registry serving `sdist` and `npm_tarball`."""
    index = {"meta": {"api-version": "1.0"}, "name": "my-pkg", "files": [
        {"filename": "my_pkg-0.9.tar.gz", "url": "../../files/my_pkg-0.9.tar.gz", "hashes": {}},
        {"filename": "my_pkg-1.0.tar.gz", "url": "../../files/my_pkg-1.0.tar.gz#sha256=0", "hashes": {}}]}
    document = {"name": "thing", "version": "2.0.0", "dist": {"tarball": f"{server}/files/thing-2.0.0.tgz"}}
    return {"/simple/my-pkg/": ("application/vnd.pypi.simple.v1+json", json.dumps(index).encode()),
            "/npm/thing/2.0.0": ("application/json", json.dumps(document).encode()),
            "/files/my_pkg-1.0.tar.gz": sdist if isinstance(sdist, tuple) else ("application/gzip", sdist),
            "/files/thing-2.0.0.tgz": ("application/gzip", npm_tarball)}


@pytest.fixture
def registry(server, cache, tmp_path, monkeypatch):
    """The stand-in registries, chosen the way a user chooses theirs ($PIP_INDEX_URL, $npm_config_registry), and
    reviews-text pointing at their artifacts; yields the marker file a build of the sdist would write."""
    marker = tmp_path / "BUILT"
    monkeypatch.setenv("PIP_INDEX_URL", f"{server}/simple")
    monkeypatch.setenv("npm_config_registry", f"{server}/npm/")
    monkeypatch.delenv("NPM_CONFIG_REGISTRY", raising=False)
    monkeypatch.setitem(_registry.ITEMS, "reviews-text", _registry_item(marker))
    monkeypatch.setattr(_fetch, "_counts", lambda name, folder: [])
    monkeypatch.setattr(_Handler, "routes", _routes(server, _sdist(marker)))
    _Handler.requests.clear()
    _Handler.accepts.clear()
    return marker


def _snapshot(root):
    """Every file under `root`: relative path -> (bytes, modification time)."""
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in Path(root).rglob("*") if p.is_file()}


def test_registry_artifacts_are_found_in_the_registry_metadata_checked_kept_and_extracted(registry, cache):
    folder = fetch("reviews-text", verbose=False)["reviews-text"]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {"LICENSE": b"MIT\n", "one.txt": b"one\n",
                                                                  "two.json": b"[2]"}
    assert sorted(p.name for p in (cache / "downloads").iterdir()) == ["my_pkg-1.0.tar.gz", "thing-2.0.0.tgz"]
    assert _Handler.requests == ["/simple/my-pkg/", "/files/my_pkg-1.0.tar.gz", "/npm/thing/2.0.0",
                                 "/files/thing-2.0.0.tgz"]
    assert _Handler.accepts[0].startswith("application/vnd.pypi.simple.v1+json")
    assert not registry.exists()                                  # the sdist was unpacked, never built
    # a file extracted is lost: it comes back from the kept artifact, nothing is requested
    (folder / "one.txt").unlink()
    fetch("reviews-text", verbose=False)
    assert (folder / "one.txt").read_bytes() == b"one\n" and len(_Handler.requests) == 4


def test_a_tampered_sdist_is_refused_unread_unbuilt_and_nothing_is_written(registry, cache, server, monkeypatch):
    # a good earlier fetch left the npm tarball and its file; the sdist's files are still to fetch
    (cache / "downloads").mkdir(parents=True)
    (cache / "downloads" / "thing-2.0.0.tgz").write_bytes(NPM_TARBALL)
    (cache / "review_text").mkdir()
    (cache / "review_text" / "two.json").write_bytes(b"[2]")
    before = _snapshot(cache)
    tampered = _sdist(registry, license_text=b"MIT, and something else\n")    # same name and version
    monkeypatch.setitem(_Handler.routes, "/files/my_pkg-1.0.tar.gz", ("application/gzip", tampered))
    pinned = _registry.ITEMS["reviews-text"].artifacts[0].sha256
    with pytest.raises(FetchError, match=rf"(?s)my_pkg-1\.0\.tar\.gz downloaded from .* has SHA-256 {_sha(tampered)}, "
                                         rf"not the pinned {pinned}.*by hand.*downloads"):
        fetch("reviews-text", verbose=False)
    assert not registry.exists()                                  # nothing built or ran it
    assert _snapshot(cache) == before                             # no final name, no leftovers, good copies intact
    assert "/files/thing-2.0.0.tgz" not in _Handler.requests
    # offline path: the right file placed by hand is used, nothing downloaded
    (cache / "downloads" / "my_pkg-1.0.tar.gz").write_bytes(_sdist(registry))
    _Handler.requests.clear()
    folder = fetch("reviews-text", verbose=False)["reviews-text"]
    assert (folder / "one.txt").read_bytes() == b"one\n" and _Handler.requests == []
    assert not registry.exists()


def test_an_interrupted_artifact_download_leaves_no_file(registry, cache, server, monkeypatch):
    monkeypatch.setitem(_Handler.routes, "/files/my_pkg-1.0.tar.gz", _truncated(_sdist(registry)))
    with pytest.raises(FetchError, match=r"(?s)could not download my_pkg-1\.0\.tar\.gz from .*nothing was written.*"
                                         r"by hand"):
        fetch("reviews-text", verbose=False)
    assert _snapshot(cache) == {} and not registry.exists()


def test_the_default_registries_and_an_html_index(registry, server, monkeypatch):
    for variable in ("PIP_INDEX_URL", "npm_config_registry", "NPM_CONFIG_REGISTRY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(_locate, "PYPI_INDEX", f"{server}/html")
    monkeypatch.setattr(_locate, "NPM_REGISTRY", f"{server}/npm")
    page = (b'<!DOCTYPE html><html><body><a href="/files/my_pkg-0.9.tar.gz">my_pkg-0.9.tar.gz</a>'
            b'<a href="../../files/my_pkg-1.0.tar.gz#sha256=0" data-requires-python="&gt;=3">my_pkg-1.0.tar.gz</a>'
            b"</body></html>")
    monkeypatch.setitem(_Handler.routes, "/html/my-pkg/", ("text/html", page))
    sdist, tarball = _registry.ITEMS["reviews-text"].artifacts
    assert _locate.artifact_url(sdist) == f"{server}/files/my_pkg-1.0.tar.gz"
    assert _locate.artifact_url(tarball) == f"{server}/files/thing-2.0.0.tgz"
    assert _Handler.requests == ["/html/my-pkg/", "/npm/thing/2.0.0"]


def test_registry_metadata_failures_say_what_was_read_and_the_way_by_hand(registry, cache, server, monkeypatch):
    monkeypatch.setitem(_Handler.routes, "/simple/my-pkg/", ("application/vnd.pypi.simple.v1+json",
                                                             b'{"meta": {"api-version": "1.0"}, "files": []}'))
    with pytest.raises(FetchError, match=r"(?s)index's page of My_Pkg at .*/simple/my-pkg/ does not list "
                                         r"my_pkg-1\.0\.tar\.gz.*By hand.*my_pkg-1\.0\.tar\.gz \(SHA-256"):
        fetch("reviews-text", verbose=False)
    port = server.rsplit(":", 1)[1]
    monkeypatch.setenv("PIP_INDEX_URL", f"http://user:secret@127.0.0.1:{port}/private")
    with pytest.raises(FetchError, match=r"could not read the package index's page of My_Pkg at http://\*\*\*@"
                                         rf"127\.0\.0\.1:{port}/private/my-pkg/ \(HTTP 404 Not Found\)") as error:
        fetch("reviews-text", verbose=False)
    assert "secret" not in str(error.value)
    assert _snapshot(cache) == {}                                 # metadata failures write nothing
    monkeypatch.setenv("PIP_INDEX_URL", f"{server}/simple")
    monkeypatch.delitem(_Handler.routes, "/npm/thing/2.0.0")
    (cache / "downloads").mkdir(parents=True)
    (cache / "downloads" / "my_pkg-1.0.tar.gz").write_bytes(_sdist(registry))
    with pytest.raises(FetchError, match=r"(?s)could not read the npm registry's document of thing 2\.0\.0 at "
                                         r".*/npm/thing/2\.0\.0.*the stand-in npm page"):
        fetch("reviews-text", verbose=False)
    assert sorted(p.name for p in (cache / "downloads").iterdir()) == ["my_pkg-1.0.tar.gz"]


def test_nothing_in_rmt_alpha_data_runs_a_subprocess():
    """Registry artifacts are plain files: no client, builder or installer is started (pip, npm, a build backend)."""
    folder = Path(_fetch.__file__).parent
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not imported & {"subprocess", "pip", "runpy", "setuptools", "build"}, path.name
        calls = {f"{node.value.id}.{node.attr}" for node in ast.walk(tree)
                 if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)}
        assert not {c for c in calls if c.startswith(("os.system", "os.popen", "os.exec", "os.spawn"))}, path.name


def test_minilm_is_taken_from_an_installed_package(tmp_path, cache, monkeypatch):
    members = {"config.json": b"{}", "model.safetensors": b"weights", "tokenizer.json": b"{}"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    package = tmp_path / "site" / "all_minilm_l6_v2"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('fetch must not import the package')\n")
    (package / "model.zip").write_bytes(buffer.getvalue())
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    sha = {name: hashlib.sha256(data).hexdigest() for name, data in members.items()}
    monkeypatch.setattr(_fetch, "MINILM_ZIP_SHA256", hashlib.sha256(buffer.getvalue()).hexdigest())
    monkeypatch.setattr(_fetch, "MINILM_ZIP_MEMBERS", {name: (name, s) for name, s in sha.items()})
    monkeypatch.setitem(_registry.ITEMS, "minilm", replace(_registry.ITEMS["minilm"], files=sha))
    folder = fetch("minilm", verbose=False)["minilm"]
    assert folder == cache / "all-MiniLM-L6-v2" and (folder / "model.safetensors").read_bytes() == b"weights"
    assert not (cache / "downloads").exists()            # no download at all


def test_names_are_checked():
    with pytest.raises(ValueError, match="names must be among"):
        fetch("imagenet")
    with pytest.raises(ValueError, match="at least one"):
        fetch()


def test_pinned_hashes_are_well_formed():
    with pytest.raises(ValueError, match=r"registry must be one of \('pypi', 'npm'\), got 'conda'"):
        _registry.Artifact("x.tar.bz2", "0" * 64, "conda", "x", "1", "page", {})
    for item in _registry.ITEMS.values():
        hashes = list(item.files.values()) + [a.sha256 for a in item.artifacts]
        assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes), item.name
        for artifact in item.artifacts:     # every file of the item comes out of an artifact
            assert {t for t, _ in artifact.members.values()} <= set(item.files)
        assert set(item.files) == ({t for a in item.artifacts for t, _ in a.members.values()} or set(item.urls))


def test_the_command_line_fetches_prints_json_and_reports_failures(server, cache, monkeypatch, capsys):
    from rmt_alpha.cli import main

    monkeypatch.setitem(_registry.ITEMS, "amazon", _url_item(server))
    assert main(["fetch", "amazon", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"amazon": str(cache / "amazon_review")}
    offline = replace(_url_item(server), folder="elsewhere", urls={"a.bin": f"{server}/missing.bin",
                                                                   "b.bin": f"{server}/missing.bin"})
    monkeypatch.setitem(_registry.ITEMS, "amazon", offline)
    with pytest.raises(SystemExit) as stop:
        main(["fetch", "amazon", "--json"])
    assert stop.value.code == 2
    assert "rmt-alpha fetch: error: could not download" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["fetch", "imagenet"])
