import base64
import io
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from matplotlib.figure import Figure
from PIL import Image

from rnnkit.cli.main import main
from rnnkit.io.files import save_figure, write_json
from rnnkit.plots.report import render_report, write_report


def make_run(folder):
    write_json(folder / "config.json", {"command": "rnnkit forecast train --epochs 2"})
    write_json(folder / "metrics.json", {
        "verdict": "The model is WORSE than persistence ('tomorrow = today'): RMSE 2 vs 1.",
        "metrics": {"model": {"rmse": 2.0, "mae": 1.5}, "persistence": {"rmse": 1.0, "mae": 0.8}},
    })
    for name in ("forecast", "loss"):
        fig = Figure()
        fig.subplots().plot([1, 2, 3])
        save_figure(fig, folder / f"{name}.png")
    write_report(folder)


def test_report_is_self_contained(tmp_path):
    make_run(tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert page == render_report(tmp_path)
    assert page.count('src="data:image/png;base64,') == 2
    assert "http://" not in page and "https://" not in page  # nothing fetched
    assert "WORSE than persistence" in page and 'class="verdict worse"' in page
    assert "<td>persistence</td>" in page and "rnnkit forecast train --epochs 2" in page


def test_report_command(tmp_path, capsys):
    make_run(tmp_path)
    (tmp_path / "report.html").unlink()
    assert main(["report", str(tmp_path)]) == 0
    assert (tmp_path / "report.html").is_file()
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "no config.json" in capsys.readouterr().err


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is missing: `make test` installs it (apt-get install chromium)")
    return found


class Dom(HTMLParser):
    """A page's elements in document order, each ``[tag, attributes, text inside it]``."""

    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self, page: str):
        super().__init__()
        self.elements, self._open = [], []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = [tag, dict(attrs), ""]
        self.elements.append(element)
        if tag not in self.VOID:
            self._open.append(element)

    def handle_endtag(self, tag):
        while self._open and self._open.pop()[0] != tag:
            pass

    def handle_data(self, data):
        for element in self._open:
            element[2] += data

    def all(self, tag):
        return [(attrs, text.strip()) for name, attrs, text in self.elements if name == tag]

    def tables(self):
        """Each table as rows of cell texts."""
        tables = []
        for name, _, text in self.elements:
            if name == "table":
                tables.append([])
            elif name == "tr":
                tables[-1].append([])
            elif name in ("td", "th"):
                tables[-1][-1].append(text.strip())
        return tables


def test_report_opens_in_a_browser_without_errors(tmp_path):
    browser = chromium()
    make_run(tmp_path)
    url = (tmp_path / "report.html").as_uri()
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
              "--v=0", "--virtual-time-budget=3000"]
    done = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    console_errors = [line for line in done.stderr.splitlines()
                      if "CONSOLE" in line and ("ERROR" in line or "Uncaught" in line)]
    assert console_errors == []
    dom = Dom(done.stdout)  # the page as the browser built it, after load
    assert [text for _, text in dom.all("title")] == [f"rnnkit run {tmp_path.name}"]
    assert [text for _, text in dom.all("h1")] == [f"rnnkit run {tmp_path.name}"]
    assert [text for _, text in dom.all("h2")] == ["Metrics", "Plots", "Configuration"]
    verdict = [(attrs, text) for attrs, text in dom.all("p") if "verdict" in attrs.get("class", "")]
    assert [attrs["class"] for attrs, _ in verdict] == ["verdict worse"]
    assert "WORSE than persistence" in verdict[0][1]
    assert dom.tables()[0] == [["", "rmse", "mae"], ["model", "2", "1.5"],
                               ["persistence", "1", "0.8"]]
    images = dom.all("img")
    assert [attrs["alt"] for attrs, _ in images] == ["forecast", "loss"]
    assert [text for _, text in dom.all("figcaption")] == ["forecast", "loss"]
    for attrs, _ in images:  # each image is its run folder's PNG, whole, and decodes
        header, _, data = attrs["src"].partition(",")
        assert header == "data:image/png;base64"
        png = base64.b64decode(data, validate=True)
        assert png == (tmp_path / f"{attrs['alt']}.png").read_bytes()
        with Image.open(io.BytesIO(png)) as image:
            assert image.format == "PNG" and min(image.size) > 100
            image.load()
    assert "rnnkit forecast train --epochs 2" in dom.all("pre")[0][1]
    assert dom.all("script") == []  # the report is a document; it runs nothing
    shot = tmp_path / "screenshot.png"
    done = subprocess.run([*common, f"--screenshot={shot}", "--window-size=1100,1400", url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.stat().st_size > 10_000
