"""fetch and the cache: downloads from a local HTTP server on 127.0.0.1 (hash match, mismatch, interrupted
transfer, corrupted cache), the registry-client path with stand-in clients, the search path, and the messages.

No test here reaches the network: URLs point at a server this file starts on the loopback interface, and the
registry clients are replaced by small Python commands that write a known file.
"""

import hashlib
import http.server
import io
import os
import sys
import tarfile
import threading
import zipfile
from dataclasses import replace

import pytest

from rmt_alpha._io import data_roots
from rmt_alpha.data import _fetch, _registry
from rmt_alpha.data._cache import CorruptFileError, find_item
from rmt_alpha.data._fetch import FetchError, download_url, fetch

PAYLOAD = bytes(range(256)) * 64          # 16 KiB
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    requests = []

    def do_GET(self):
        type(self).requests.append(self.path)
        if self.path == "/good.bin":
            self._send(PAYLOAD)
        elif self.path == "/other.bin":
            self._send(PAYLOAD[::-1])
        elif self.path == "/truncated.bin":   # announces the whole file, sends a quarter, hangs up
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 4])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.send_error(404)

    def _send(self, data):
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

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
    with pytest.raises(FetchError, match=rf"(?s)other\.bin.*{PAYLOAD_SHA}.*by hand"):
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
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _client_item(tmp_path, fail=False):
    """reviews-text re-pointed at an artifact that a stand-in client copies from tmp_path (a nested archive, as
    the VADER sdist: a tar.gz inside the tar.gz)."""
    inner = _tar_gz({"data/one.txt": b"one\n"})
    outer = _tar_gz({"pkg/inner.tar.gz": inner, "pkg/LICENSE": b"MIT\n"})
    (tmp_path / "pkg-1.0.tar.gz").write_bytes(outer)
    def sha(data):
        return hashlib.sha256(data).hexdigest()

    script = ("import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])" if not fail else
              "import sys; print('ERROR: could not reach the registry'); sys.exit(1)")
    artifact = _registry.Artifact(
        filename="pkg-1.0.tar.gz", sha256=sha(outer),
        command=(sys.executable, "-c", script, str(tmp_path / "pkg-1.0.tar.gz"), "{dest}"),
        page="the stand-in registry page",
        members={"pkg/LICENSE": ("LICENSE", sha(b"MIT\n")),
                 "pkg/inner.tar.gz!data/one.txt": ("one.txt", sha(b"one\n"))})
    files = {"LICENSE": sha(b"MIT\n"), "one.txt": sha(b"one\n")}
    return replace(_registry.ITEMS["reviews-text"], files=files, artifacts=(artifact,))


def test_registry_artifacts_are_checked_kept_and_extracted(tmp_path, cache, monkeypatch):
    item = _client_item(tmp_path)
    monkeypatch.setitem(_registry.ITEMS, "reviews-text", item)
    monkeypatch.setattr(_fetch, "_counts", lambda name, folder: [])
    folder = fetch("reviews-text", verbose=False)["reviews-text"]
    assert (folder / "one.txt").read_bytes() == b"one\n" and (folder / "LICENSE").read_bytes() == b"MIT\n"
    assert (cache / "downloads" / "pkg-1.0.tar.gz").is_file()
    assert [p.name for p in (cache / "downloads").iterdir()] == ["pkg-1.0.tar.gz"]   # no temporary folder left
    # the file extracted is lost: it comes back from the kept artifact, the client is not run again
    (folder / "one.txt").unlink()
    broken = replace(item, artifacts=(replace(item.artifacts[0], command=(sys.executable, "-c", "exit(3)")),))
    monkeypatch.setitem(_registry.ITEMS, "reviews-text", broken)
    fetch("reviews-text", verbose=False)
    assert (folder / "one.txt").read_bytes() == b"one\n"


def test_a_failing_client_or_a_wrong_artifact_gives_the_way_by_hand(tmp_path, cache, monkeypatch):
    monkeypatch.setitem(_registry.ITEMS, "reviews-text", _client_item(tmp_path, fail=True))
    with pytest.raises(FetchError, match=r"(?s)exit code 1.*could not reach the registry.*pkg-1\.0\.tar\.gz.*"
                                         r"stand-in registry page"):
        fetch("reviews-text", verbose=False)
    item = _client_item(tmp_path)
    wrong = replace(item, artifacts=(replace(item.artifacts[0], sha256="0" * 64),))
    monkeypatch.setitem(_registry.ITEMS, "reviews-text", wrong)
    with pytest.raises(FetchError, match="not the pinned 0000"):
        fetch("reviews-text", verbose=False)
    assert [p.name for p in (cache / "downloads").iterdir()] == []      # nothing kept
    missing = replace(item, artifacts=(replace(item.artifacts[0], command=("no-such-client-here", "{dest}")),))
    monkeypatch.setitem(_registry.ITEMS, "reviews-text", missing)
    with pytest.raises(FetchError, match="cannot run 'no-such-client-here'.*by hand"):
        fetch("reviews-text", verbose=False)


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
    for item in _registry.ITEMS.values():
        hashes = list(item.files.values()) + [a.sha256 for a in item.artifacts]
        assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes), item.name
        for artifact in item.artifacts:     # every file of the item comes out of an artifact
            assert {t for t, _ in artifact.members.values()} <= set(item.files)
        assert set(item.files) == ({t for a in item.artifacts for t, _ in a.members.values()} or set(item.urls))


def test_the_command_line_fetches_prints_json_and_reports_failures(server, cache, monkeypatch, capsys):
    import json

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
