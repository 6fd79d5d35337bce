"""The release reports and the Data Docs site served over loopback, so that links in the Dagster UI open.

A browser refuses a file:// link on an http:// page (the Dagster UI), so the pipeline's metadata links to these
files through a small read-only HTTP server instead (`omnichannel ui`, `omnichannel serve-docs`):
    <base>/published/...   the publish dir: `releases/<id>/report.html`, `current/report.html`, `failed/report.html`
    <base>/data_docs/...   the great-expectations Data Docs site (each validation's own page)
It answers GET and HEAD only, and only for files under those folders: a path that leaves its folder (`..`, a
symlink pointing elsewhere) is a 404.
"""

import posixpath
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

PUBLISHED = "published"
DATA_DOCS = "data_docs"
# `OMNI_DOCS_URL` set to one of these: no http links are recorded (no server will serve them).
NO_SITE = {"off", "none", "no", "false", "0"}


def site_url(base: str | None) -> str | None:
    """The docs site's base URL without a trailing slash, or None when links are switched off."""
    if base is None or base.strip().lower() in NO_SITE | {""}:
        return None
    return base.strip().rstrip("/")


def file_url(base: str | None, prefix: str, folder: Path, file: Path) -> str | None:
    """The URL the site serves `file` (under `folder`, served as `prefix`) at; None when there is no site or the
    file is outside the folder. Symlinks are kept as named (`current/...` stays `current/...`)."""
    base = site_url(base)
    if base is None:
        return None
    try:
        relative = Path(file).absolute().relative_to(Path(folder).absolute())
    except ValueError:
        try:
            relative = Path(file).resolve().relative_to(Path(folder).resolve())
        except ValueError:
            return None
    return f"{base}/{prefix}/{quote(relative.as_posix())}"


class DocsHandler(SimpleHTTPRequestHandler):
    """Serves `roots` (URL prefix -> folder), read-only, never a file outside its folder."""

    roots: dict[str, Path] = {}
    server_version = "omnichannel-docs"

    def __init__(self, *args, roots: dict[str, Path], **kwargs):
        self.roots = {prefix: Path(folder).resolve() for prefix, folder in roots.items()}
        super().__init__(*args, **kwargs)

    def translate_path(self, path: str) -> str:
        """The file for a URL path, or a path that does not exist (a 404) when it is outside every root."""
        parts = [unquote(p) for p in posixpath.normpath(urlsplit(path).path).split("/") if p]
        missing = str(Path("/nonexistent-omnichannel-docs"))
        if not parts or parts[0] not in self.roots or any(p in {"..", "."} or "\\" in p or "\0" in p for p in parts):
            return missing
        root = self.roots[parts[0]]
        target = root.joinpath(*parts[1:]).resolve()
        if target != root and not target.is_relative_to(root):
            return missing  # a symlink out of the folder
        return str(target)

    def send_head(self):
        if urlsplit(self.path).path == "/favicon.ico":
            # Asked for by every page the browser opens here: none, rather than a 404 in the page's console.
            self.send_response(204)
            self.end_headers()
            return None
        return super().send_head()

    def list_directory(self, path):
        self.send_error(404, "no listings: follow a link from the Dagster UI")
        return None

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # a line per request on stderr would drown `dagster dev`'s output


def make_server(roots: dict[str, Path], host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A server bound to `host:port` (port 0: a free one; `server.server_port` says which) for `roots`."""
    server = ThreadingHTTPServer((host, port), partial(DocsHandler, roots=roots))
    server.daemon_threads = True
    return server
