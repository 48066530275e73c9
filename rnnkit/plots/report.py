"""The HTML run report: one self-contained page per run folder (images embedded, no network)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

REPORT = "report.html"

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
code, pre { background: #f4f4f4; padding: .15em .35em; border-radius: 3px; }
pre { padding: .8em; overflow-x: auto; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border-bottom: 1px solid #ddd; padding: .3em .8em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.verdict { font-weight: 600; padding: .6em .8em; background: #f3f7ff; border-left: 4px solid #36c; }
.worse { background: #fff3f3; border-left-color: #c33; }
figure { margin: 1em 0; } img { max-width: 100%; border: 1px solid #eee; }
"""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "-"
    return html.escape(str(value))


def _metrics_table(metrics: dict[str, Any]) -> str:
    """A table of named rows of scores (``{"model": {"rmse": ..}, ..}``) or of scalars."""
    rows = {k: v for k, v in metrics.items() if isinstance(v, dict)
            and v and all(not isinstance(x, dict | list) for x in v.values())}
    if rows:
        columns = list(dict.fromkeys(c for row in rows.values() for c in row))
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = "".join(
            f"<tr><td>{html.escape(name)}</td>"
            + "".join(f"<td>{_fmt(row.get(c))}</td>" for c in columns) + "</tr>"
            for name, row in rows.items()
        )
        return f"<table><tr><th></th>{head}</tr>{body}</table>"
    scalars = {k: v for k, v in metrics.items()
               if not isinstance(v, dict | list) and k != "verdict"}
    body = "".join(f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>"
                   for k, v in scalars.items())
    return f"<table>{body}</table>" if body else ""


def render_report(run_dir: Path) -> str:
    """The report page of a run folder: command, verdict, metrics, every PNG, the config."""
    run_dir = Path(run_dir)
    config = _load(run_dir / "config.json")
    metrics = _load(run_dir / "metrics.json")
    parts = [f"<h1>rnnkit run <code>{html.escape(run_dir.name)}</code></h1>"]
    command = config.get("command") if isinstance(config, dict) else None
    if command:
        parts.append(f"<p>Made by <code>{html.escape(str(command))}</code></p>")
    if isinstance(metrics, dict):
        verdict = metrics.get("verdict")
        if verdict:
            worse = " worse" if "WORSE" in str(verdict) else ""
            parts.append(f'<p class="verdict{worse}">{html.escape(str(verdict))}</p>')
        parts.append("<h2>Metrics</h2>")
        nested = metrics.get("metrics")
        parts.append(_metrics_table(nested if isinstance(nested, dict) else metrics))
        if isinstance(nested, dict):
            parts.append(_metrics_table(metrics))
    images = sorted(run_dir.glob("*.png")) + sorted(run_dir.glob("plots/*.png"))
    if images:
        parts.append("<h2>Plots</h2>")
    for image in images:
        data = base64.b64encode(image.read_bytes()).decode()
        name = html.escape(image.stem.replace("_", " "))
        parts.append(f'<figure><img alt="{name}" src="data:image/png;base64,{data}">'
                     f"<figcaption>{name}</figcaption></figure>")
    if config is not None:
        pretty = html.escape(json.dumps(config, indent=2))
        parts.append(f"<h2>Configuration</h2><details><summary>config.json</summary>"
                     f"<pre>{pretty}</pre></details>")
    body = "\n".join(parts)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>rnnkit run {html.escape(run_dir.name)}</title><style>{_STYLE}</style>"
            f"</head><body>{body}</body></html>")


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_report(run_dir: Path) -> Path:
    """(Re)write ``report.html`` in a run folder, atomically."""
    from rnnkit.io.files import write_bytes

    return write_bytes(Path(run_dir) / REPORT, render_report(run_dir).encode())
