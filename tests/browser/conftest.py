"""Real-browser fixtures: one isolated JupyterLab per session, a fresh Chromium page per test.

Every test in this folder is marked `browser` and skipped (with the reason) only when Debian's
chromium is missing; CI installs it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lab_harness import CHROMIUM, CHROMIUM_ARGS, Lab, jupyter_lab, jupyter_notebook7
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "ci-artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    reason = f"needs Debian chromium at {CHROMIUM} (apt-get install chromium)"
    skip = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=reason)
    for item in items:
        if Path(item.fspath).parent == here:
            item.add_marker(pytest.mark.browser)
            item.add_marker(skip)


def _serving(start: Callable[[Path, Path], Any], name: str) -> Iterator[Lab]:
    """Run a server in a fresh temp dir (removed afterwards), its log in ci-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"jm-{name}-"))
    try:
        with start(work, ARTIFACTS / f"{name}.log") as server:
            yield server
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    yield from _serving(jupyter_lab, "jupyterlab")


@pytest.fixture(scope="session")
def notebook7() -> Iterator[Lab]:
    yield from _serving(jupyter_notebook7, "notebook7")


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[Page]:
    """A Chromium page; on failure a screenshot `<test name>.fail.png` lands in ci-artifacts/."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        try:
            yield page
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.fail.png"))
            raise
        finally:
            browser.close()
