"""Reading a release report back: the figures it draws (the JSON each chart is given) and its sections."""

import json
from html.parser import HTMLParser
from pathlib import Path


class _ReportParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.figures: dict[str, dict] = {}
        self.sections: dict[str, dict] = {}
        self._chart: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("type") == "application/json" and "data-chart" in attrs:
            self._chart, self._text = attrs["data-chart"], []
        elif tag == "section" and "data-section" in attrs:
            missing = attrs.get("data-missing") or ""
            self.sections[attrs["data-section"]] = {"missing": [m for m in missing.split(",") if m]}

    def handle_data(self, data):
        if self._chart is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._chart is not None:
            self.figures[self._chart] = json.loads("".join(self._text))
            self._chart = None


def read_report(path: Path) -> tuple[dict[str, dict], dict[str, dict]]:
    """(figures by chart id, sections by key) of a report page."""
    parser = _ReportParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.figures, parser.sections


def traces(figure: dict) -> dict[str, dict]:
    """Each trace of a figure by its name ('' for an unnamed one)."""
    return {trace.get("name", ""): trace for trace in figure["data"]}


def points(trace: dict) -> dict:
    """x -> y of a trace (y -> x for a horizontal bar)."""
    if trace.get("orientation") == "h":
        return dict(zip(trace["y"], trace["x"]))
    return dict(zip(trace["x"], trace["y"]))
