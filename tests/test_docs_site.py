"""The loopback server behind the Dagster UI's report and Data Docs links: it serves the files under its folders and
nothing else, and the links the metadata records are http ones that keep pointing at their release."""

import http.client
import json
import threading
from pathlib import Path

import pytest

from data_quality.gx_runner import ExpectationFailure, SuiteOutcome
from orchestration.defs.publishing import report_links
from orchestration.defs.quality import range_check_result, suite_check_result
from orchestration.defs.resources import DataDocs, Publication
from orchestration.publishing.release import Release, swap_in
from orchestration.reporting.docs_site import file_url, make_server


def _release(publish: Path, release_id: str, text: str) -> Release:
    folder = publish / "releases" / release_id
    folder.mkdir(parents=True)
    (folder / "report.html").write_text(text)
    (folder / "manifest.json").write_text(json.dumps({"release": release_id}))
    return Release(release_id, folder, {})


@pytest.fixture
def site(tmp_path):
    """A publish dir with one release current, a Data Docs page, a secret beside them, and the server on them."""
    publish, docs = tmp_path / "published", tmp_path / "data_docs"
    swap_in(publish, _release(publish, "r1", "<p>first release</p>"))
    page = docs / "validations" / "stg email" / "20260301T000000Z" / "page.html"
    page.parent.mkdir(parents=True)
    page.write_text("<p>validation</p>")
    (tmp_path / "secret.txt").write_text("not for the browser")
    (publish / "escape").symlink_to(tmp_path / "secret.txt")
    server = make_server({"published": publish, "data_docs": docs})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {"publish": publish, "docs": docs, "page": page, "port": server.server_port}
    finally:
        server.shutdown()
        server.server_close()


def _get(port: int, path: str, method: str = "GET") -> tuple[int, bytes]:
    """The status and body for a raw request path: no client-side normalisation of `..`."""
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        con.request(method, path)
        response = con.getresponse()
        return response.status, response.read()
    finally:
        con.close()


def test_the_server_serves_reports_and_data_docs_pages_under_its_folders(site):
    assert _get(site["port"], "/published/current/report.html") == (200, b"<p>first release</p>")
    assert _get(site["port"], "/published/releases/r1/report.html") == (200, b"<p>first release</p>")
    assert _get(site["port"], "/data_docs/validations/stg%20email/20260301T000000Z/page.html") == (
        200,
        b"<p>validation</p>",
    )


@pytest.mark.parametrize(
    "path",
    [
        "/published/../secret.txt",
        "/published/%2e%2e/secret.txt",
        "/data_docs/..%2f..%2fsecret.txt",
        "/published/escape",  # a symlink out of the folder
        "/secret.txt",
        "/published/",  # no listings
        "/published/releases/r9/report.html",
    ],
)
def test_nothing_outside_the_folders_is_served(site, path):
    status, body = _get(site["port"], path)
    assert status == 404 and b"not for the browser" not in body


def test_the_browsers_favicon_request_is_no_error(site):
    assert _get(site["port"], "/favicon.ico") == (204, b"")


def test_the_server_is_read_only(site):
    assert _get(site["port"], "/published/current/report.html", "POST")[0] == 501
    assert _get(site["port"], "/published/current/report.html", "PUT")[0] == 501


def test_a_release_link_keeps_opening_that_release_after_the_next_becomes_current(site):
    publication = Publication(path=str(site["publish"]), home=str(site["publish"]), site_url="http://127.0.0.1:3070/")
    first = report_links(publication, "r1")
    assert first["report"].value == "http://127.0.0.1:3070/published/releases/r1/report.html"
    assert first["current_report"].value == "http://127.0.0.1:3070/published/current/report.html"
    assert Path(first["report_path"].value) == (site["publish"] / "releases" / "r1" / "report.html").resolve()
    swap_in(site["publish"], _release(site["publish"], "r2", "<p>second release</p>"))
    path_of = first["report"].value.removeprefix("http://127.0.0.1:3070")
    assert _get(site["port"], path_of) == (200, b"<p>first release</p>")
    assert _get(site["port"], "/published/current/report.html") == (200, b"<p>second release</p>")


def test_no_http_link_without_a_site_and_never_a_file_link(tmp_path):
    publication = Publication(path=str(tmp_path), home=str(tmp_path), site_url="off")
    links = report_links(publication, "r1")
    assert set(links) == {"report_path"}
    assert file_url(None, "published", tmp_path, tmp_path / "x.html") is None
    assert file_url("http://h:1", "published", tmp_path / "a", tmp_path / "b" / "x.html") is None  # outside


def _outcome(page: Path | None) -> SuiteOutcome:
    failure = ExpectationFailure("expect_column_values_to_not_be_null", "email", 1, [None])
    return SuiteOutcome("stg_email", "2026-03-01", 10, 3, [failure], page=page)


def test_a_suite_check_links_its_validation_page_only_where_a_site_serves_it(tmp_path):
    page = tmp_path / "docs" / "validations" / "stg_email" / "page.html"
    served = DataDocs(path=str(tmp_path / "docs"), site_url="http://127.0.0.1:3070")
    result = suite_check_result(_outcome(page), None, "gx_suite", served)
    assert result.metadata["data_docs_page"].value == "http://127.0.0.1:3070/data_docs/validations/stg_email/page.html"
    assert result.metadata["data_docs"].value == str(page)  # the path to copy, always
    unserved = suite_check_result(
        _outcome(page), None, "gx_suite", DataDocs(path=str(tmp_path / "docs"), site_url="off")
    )
    assert "data_docs_page" not in unserved.metadata and unserved.metadata["data_docs"].value == str(page)
    days = range_check_result({"2026-03-01": _outcome(page), "2026-03-02": _outcome(None)}, None, "gx_suite", served)
    assert days.metadata["data_docs_pages"].value == (
        "- [2026-03-01](http://127.0.0.1:3070/data_docs/validations/stg_email/page.html)"
    )
