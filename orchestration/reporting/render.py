"""One self-contained HTML page: plotly's JavaScript embedded once, each figure as JSON beside the div it draws in.

Nothing is fetched when the page opens (no CDN, no fonts, no MathJax), so it works from a file on a laptop
offline. The figures are JSON blocks (`<script type="application/json" data-chart=ID>`) rather than code, so a test
can read exactly what each chart was given.
"""

import html
import json
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import plotly.offline
from plotly.utils import PlotlyJSONEncoder

from orchestration.reporting.sections import Section

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 0 1.5rem 3rem; color: #222; }
header { border-bottom: 1px solid #ddd; margin-bottom: 1rem; }
header dl { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; font-size: .9rem; }
header dt { color: #666; }
nav a { margin-right: 1rem; font-size: .9rem; }
section { margin: 2rem 0; }
.banner { padding: .8rem 1rem; border-radius: 4px; margin: 1rem 0; }
.banner.failed { background: #fdecea; border: 1px solid #e53935; }
.banner.warned { background: #fff8e1; border: 1px solid #ffc107; }
.missing { color: #666; font-style: italic; }
.chart { width: 100%; min-height: 420px; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0 1rem; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f5f5f5; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
"""

# Draws every figure from its JSON block; a chart that fails to draw says so in the page and on the console.
_DRAW = """
document.querySelectorAll('script[type="application/json"][data-chart]').forEach(function (block) {
  var target = document.getElementById(block.dataset.chart);
  var figure = JSON.parse(block.textContent);
  Plotly.newPlot(target, figure.data, figure.layout, {displaylogo: false, responsive: true});
});
"""


def _json_block(chart_id: str, figure) -> str:
    # "</" inside a script element would end it early.
    payload = json.dumps(figure.to_plotly_json(), cls=PlotlyJSONEncoder).replace("</", "<\\/")
    return f'<script type="application/json" data-chart="{html.escape(chart_id)}">{payload}</script>'


def _table(caption: str, frame: pd.DataFrame) -> str:
    body = frame.to_html(index=False, escape=True, na_rep="", border=0)
    return body.replace('<table class="dataframe">', f"<table data-table><caption>{html.escape(caption)}</caption>", 1)


def _section(section: Section) -> str:
    parts = [
        f'<section id="{section.key}" data-section="{section.key}" data-missing="{html.escape(",".join(section.missing))}">',
        f"<h2>{html.escape(section.title)}</h2>",
        f"<p>{html.escape(section.intro)}</p>",
    ]
    if section.missing:
        parts.append(
            '<p class="missing">Not published in this release: ' + html.escape(", ".join(section.missing)) + ".</p>"
        )
    for chart in section.charts:
        parts.append(f'<div class="chart" id="{html.escape(chart.chart_id)}" data-chart-div></div>')
        parts.append(_json_block(chart.chart_id, chart.figure))
        if chart.caption:
            parts.append(f"<p>{html.escape(chart.caption)}</p>")
    parts += [f"<p>{html.escape(note)}</p>" for note in section.notes]
    parts += [_table(caption, frame) for caption, frame in section.tables]
    parts.append("</section>")
    return "\n".join(parts)


def render(
    title: str,
    facts: Sequence[tuple[str, str]],
    sections: Sequence[Section],
    banner: tuple[str, str] | None = None,
    links: Sequence[tuple[str, str]] = (),
) -> str:
    """The page: a header of facts (label, value), an optional banner (kind, text), links, then the sections."""
    facts_html = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in facts)
    nav = " ".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in sections)
    link_html = " ".join(f'<a href="{html.escape(href)}">{html.escape(text)}</a>' for text, href in links)
    banner_html = (
        f'<div class="banner {banner[0]}" data-banner="{banner[0]}">{html.escape(banner[1])}</div>' if banner else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>{_STYLE}</style>
<script>{plotly.offline.get_plotlyjs()}</script>
</head>
<body>
<header>
<h1>{html.escape(title)}</h1>
{banner_html}
<dl>{facts_html}</dl>
<p>{link_html}</p>
<nav>{nav}</nav>
</header>
{"".join(_section(s) for s in sections)}
<script>{_DRAW}</script>
</body>
</html>
"""


def write_atomically(path: Path, text: str) -> None:
    """Readers see the old page or the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
