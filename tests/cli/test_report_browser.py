"""The report as a person sees it: headless Chromium renders it with no network at all.

Every host is unresolvable and every request must go through a recording
proxy on loopback; a control page with an external image proves the proxy
would have seen a request, so "no connection" means none was made. Chromium
itself still calls a few of its own services at start-up whatever the flags
(see `browser.BROWSER_HOSTS`): those are told apart by host and allowed; any
other connection fails the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, RecordingProxy, chromium, pixel_summary
from tests.history_support import evaluate

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _chromium_present() -> None:
    """A missing browser fails these tests (as a missing Prometheus does), never skips them."""
    if CHROMIUM is None:
        pytest.fail("needs Debian's chromium (apt-get install -y chromium; .ci/run does this)")


POLICY = """
history = ".releasegate/history.jsonl"

[[rule]]
name = "no failing tests"
metric = "tests.failed"
max = 0

[[rule]]
name = "pass rate"
metric = "tests.pass_rate"
min = 90
warn-below = 97

[[rule]]
name = "enough tests"
metric = "tests.total"
min = 20

[[rule]]
name = "slowest test"
metric = "tests.duration_s.max"
max = 0.5
level = "warn"
"""
RUNS = [(24, 0), (25, 1), (26, 0), (27, 0), (27, 2), (28, 0), (29, 0), (30, 1), (31, 0), (31, 3)]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("browser")
    git = ["git", "-C", str(project)]
    (project / "releasegate.toml").write_text(POLICY)
    for args in (
        ["init", "-q", "-b", "main"],
        [
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "start",
        ],
    ):
        subprocess.run([*git, *args], check=True, timeout=30)
    with pytest.MonkeyPatch.context() as mp:
        for var in ("CODEBUILD_WEBHOOK_HEAD_REF", "GITHUB_HEAD_REF", "GITHUB_REF_NAME"):
            mp.delenv(var, raising=False)
        for n, (passed, failed) in enumerate(RUNS):
            html = ("--html", str(project / "report.html")) if n == len(RUNS) - 1 else ()
            evaluate(project, mp, *html, passed=passed, failed=failed)
    return project / "report.html"


def test_chromium_renders_the_rules_and_makes_no_request(report: Path, tmp_path: Path) -> None:
    with RecordingProxy() as proxy:
        dom = chromium(report.as_uri(), tmp_path / "profile", proxy.port, "--dump-dom")
        shot = tmp_path / "report.png"
        chromium(
            report.as_uri(),
            tmp_path / "profile2",
            proxy.port,
            "--window-size=1100,2300",
            f"--screenshot={shot}",
        )
    assert dom.returncode == 0, dom.stderr[-2000:]
    for name in ("no failing tests", "pass rate", "enough tests", "slowest test"):
        assert name in dom.stdout
    assert dom.stdout.count("<svg") == 4
    assert "Failing tests (3)" in dom.stdout
    assert "The last 10 runs of branch main" in dom.stdout
    assert proxy.page_requests() == [], proxy.targets()

    background, share, colours = pixel_summary(shot)
    assert background == (255, 255, 255)  # light scheme by default
    assert share > 0.03 and colours > 50, (share, colours)  # text, tables and charts drawn
    target = os.environ.get("RELEASEGATE_SCREENSHOT_TO")
    if target:  # docs/history-report.png is made this way
        shutil.copyfile(shot, target)


def test_the_dark_scheme_is_dark(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "dark.png"
    with RecordingProxy() as proxy:
        chromium(
            report.as_uri(),
            tmp_path / "profile",
            proxy.port,
            "--window-size=900,700",
            "--blink-settings=preferredColorScheme=0",  # 0 = dark
            f"--screenshot={shot}",
        )
    assert proxy.page_requests() == [], proxy.targets()
    background, share, _ = pixel_summary(shot)
    assert sum(background) < 3 * 40, background
    assert share > 0.03


def test_control_the_proxy_sees_a_page_that_does_fetch(tmp_path: Path) -> None:
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><img src="http://example.invalid/pixel.png">hello')
    with RecordingProxy() as proxy:
        chromium(page.as_uri(), tmp_path / "profile", proxy.port, "--dump-dom")
    assert proxy.page_requests() == ["example.invalid"], proxy.targets()
