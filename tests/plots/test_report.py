import re
import shutil
import subprocess

import pytest

from rnnkit.cli.main import main
from rnnkit.io.run import mark_complete, save_figure, write_json
from rnnkit.plots.report import render_report


def make_run(folder):
    import matplotlib.pyplot as plt

    write_json(folder / "config.json", {"command": "rnnkit forecast train --epochs 2"})
    write_json(folder / "metrics.json", {
        "verdict": "The model is WORSE than persistence ('tomorrow = today'): RMSE 2 vs 1.",
        "metrics": {"model": {"rmse": 2.0, "mae": 1.5}, "persistence": {"rmse": 1.0, "mae": 0.8}},
    })
    for name in ("forecast", "loss"):
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3])
        save_figure(fig, folder / f"{name}.png")
    mark_complete(folder)


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


def test_report_opens_in_a_browser_without_errors(tmp_path):
    browser = chromium()
    make_run(tmp_path)
    url = (tmp_path / "report.html").as_uri()
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
              "--v=0", "--virtual-time-budget=3000"]
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert re.search(r'data-images-loaded="2/2"', dom.stdout), dom.stdout[:500]
    console_errors = [line for line in dom.stderr.splitlines()
                      if "CONSOLE" in line and ("ERROR" in line or "Uncaught" in line)]
    assert console_errors == []
    shot = tmp_path / "screenshot.png"
    done = subprocess.run([*common, f"--screenshot={shot}", "--window-size=1100,1400", url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.stat().st_size > 10_000
