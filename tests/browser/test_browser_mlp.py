"""A real training step's dashboard in JupyterLab: light, dark, 800 px, saved and reopened.

The 3-entry MLP of issue 13 (`realmodels.mlp_three_entries`: first call, a bigger batch,
another static lr). What a user must see: one line per entry on a normal page, the miss
reason on screen at 800 px (rows become cards), and after save → kernel stopped → reopen
the same table with its final numbers, never "model not found". With
JITMAGIC_UPDATE_SCREENSHOT=1 the light dashboard's screenshot replaces `docs/dashboard.png`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import realmodels as rm
from lab_harness import (
    Lab,
    cells,
    notebook_of,
    open_notebook,
    reopen,
    run_all,
    save,
    set_theme,
    stop_kernel,
)
from playwright.sync_api import Locator, Page, expect

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "ci-artifacts"
CELLS = [
    "%load_ext jitmagic\nfrom typing import Any\nimport jax, jax.numpy as jnp",
    rm.MLP_SOURCE,
    "%jit mlp_step --static lr",
    "params = init_mlp()\nfor n, lr in ((32, 0.01), (64, 0.01), (64, 0.1)):\n"
    "    mlp_step(params, *mlp_batch(n), lr=lr)",
    "for _ in range(4):\n    mlp_step(params, *mlp_batch(64), lr=0.1)",
]
BOARD = 2
REASONS = ("first call", "x: f32[32,784] → f32[64,784]; y: f32[32,10] → f32[64,10]",
           "lr: 0.01 → 0.1 (static)")
# Per row: its height in lines, whether the timings share the reason's line, and whether the
# reason's box lies inside the output area (not scrolled or cut off to the right).
GEOMETRY_JS = """(board) => {
  const out = board.closest('.jp-OutputArea-output').getBoundingClientRect();
  const lh = parseFloat(getComputedStyle(board).lineHeight);
  return [...board.querySelectorAll('.jm-row')].map(row => {
    const r = row.getBoundingClientRect();
    const who = row.querySelector('.jm-who').getBoundingClientRect();
    const times = row.querySelector('.jm-times').getBoundingClientRect();
    const reason = row.querySelector('.jm-reason').parentElement.getBoundingClientRect();
    return {lines: Math.round((r.height - 2) / lh), sameLine: Math.abs(times.top - who.top) < 2,
            reasonInside: reason.left >= out.left && reason.right <= out.right + 1
                          && reason.width > 40,
            overflow: row.scrollWidth > row.clientWidth + 1};
  });
}"""

# At 800 px: each reason's cell shows its whole text (nothing scrolled, nothing cut with an
# ellipsis, inside the output area), and each header counter's label and number share a line.
WHOLE_REASON_JS = """(board) => {
  const out = board.closest('.jp-OutputArea-output').getBoundingClientRect();
  const reasons = [...board.querySelectorAll('.jm-reason')].map(span => {
    const cell = span.parentElement, s = getComputedStyle(cell), r = cell.getBoundingClientRect();
    return {text: span.textContent, fits: cell.scrollWidth <= cell.clientWidth,
            clipped: s.textOverflow === 'ellipsis' && s.whiteSpace === 'nowrap',
            inside: r.left >= out.left && r.right <= out.right + 1};
  });
  const counters = ['.jm-calls', '.jm-hits', '.jm-misses', '.jm-ratio', '.jm-compile'].map(c => {
    const num = board.querySelector(c), label = num.parentElement.firstElementChild;
    const rects = label.getClientRects(), end = rects[rects.length - 1];  // a label may wrap
    return {counter: c, sameLine: Math.abs(num.getBoundingClientRect().top - end.top) < 2};
  });
  return {reasons, counters};
}"""


def _run_mlp(lab: Lab, page: Page, width: int = 1280,
             theme: str = "JupyterLab Light") -> tuple[str, Locator]:
    """Run the MLP notebook; the theme is set every time (it is a server-wide setting)."""
    name = lab.upload(notebook_of(CELLS), "mlp")
    open_notebook(page, lab, name)
    # after opening: at 800 px the toolbar folds the kernel name away, which the idle wait reads
    page.set_viewport_size({"width": width, "height": 1000})
    set_theme(page, theme)
    run_all(page, len(CELLS))
    board = cells(page).nth(BOARD).locator(".jitmagic-dashboard")
    _expect_final(board)
    return name, board


def _expect_final(board: Locator) -> None:
    """The final numbers and all three reasons, in order, one row each."""
    expect(board.locator(".jm-calls")).to_have_text("7")
    expect(board.locator(".jm-hits")).to_have_text("4")
    expect(board.locator(".jm-misses")).to_have_text("3")
    expect(board.locator(".jm-row")).to_have_count(3)
    expect(board.locator(".jm-reason")).to_have_text(list(REASONS))


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_mlp_dashboard_is_one_line_per_entry(lab: Lab, page: Page, theme: str) -> None:
    name, board = _run_mlp(lab, page, theme=theme)
    try:
        rows = board.evaluate(GEOMETRY_JS)
        assert [r["lines"] for r in rows] == [1, 1, 1], rows
        assert all(r["sameLine"] and r["reasonInside"] and not r["overflow"] for r in rows)
        expect(board.locator(".jm-row").nth(1)).to_contain_text("params: 6 leaves")
        expect(board.locator(".jm-row").nth(1)).to_contain_text("same as #0")
        expect(board.locator(".jm-row").nth(2).locator("mark.jm-changed")).to_have_text("lr=0.1")
        text, back = board.evaluate("(b) => { const s = getComputedStyle(b); "
                                    "return [s.color, getComputedStyle(b.closest("
                                    "'.jp-OutputArea-output')).backgroundColor]; }")
        dark = "Dark" in theme
        assert (_luminance(text) > 0.5) == dark, (text, back)  # text follows the theme
        stem = "dark" if dark else "light"
        _shot(page, board, f"dashboard_mlp_{stem}.png", readme=not dark)
        board.locator(".jm-row").nth(0).locator("summary").first.click()  # #0 in full
        expect(board.locator(".jm-row").nth(0).locator("pre").first).to_contain_text(
            "[2]['w']: f32[64,10]")
        _shot(page, board, f"dashboard_mlp_{stem}_open.png")
        assert not page.errors, page.errors
    finally:
        lab.remove(name)


def test_mlp_dashboard_at_800px_shows_the_reason(lab: Lab, page: Page) -> None:
    name, board = _run_mlp(lab, page, width=800)
    try:
        rows = board.evaluate(GEOMETRY_JS)
        assert all(r["reasonInside"] and not r["overflow"] for r in rows), rows
        expect(board.locator(".jm-reason").nth(2)).to_be_visible()
        whole = board.evaluate(WHOLE_REASON_JS)
        assert [r["text"] for r in whole["reasons"]] == list(REASONS), whole
        assert all(r["fits"] and not r["clipped"] and r["inside"]
                   for r in whole["reasons"]), whole
        assert all(c["sameLine"] for c in whole["counters"]), whole
        _shot(page, board, "dashboard_mlp_800.png")
        assert not page.errors, page.errors
    finally:
        lab.remove(name)


def test_saved_notebook_reopens_with_the_table(lab: Lab, page: Page) -> None:
    name, board = _run_mlp(lab, page)
    try:
        saved = save(page, lab, name)
        outputs = saved["cells"][BOARD]["outputs"]
        assert [set(o["data"]) for o in outputs] == [{"text/plain", "text/html"}], outputs
        stop_kernel(lab, name)
        reopen(page, lab, name)
        board = cells(page).nth(BOARD).locator(".jitmagic-dashboard")
        _expect_final(board)
        page.wait_for_timeout(500)  # a widget view would have failed to render by now
        expect(page.locator(".jp-Notebook")).not_to_contain_text("model not found")
        expect(page.locator(".jp-Notebook")).not_to_contain_text("Error displaying widget")
        _shot(page, board, "dashboard_mlp_reopened.png")
        assert not page.errors, page.errors
    finally:
        lab.remove(name)


def _luminance(css: str) -> float:
    r, g, b = (int(v) for v in css[css.index("(") + 1:].rstrip(")").split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def _shot(page: Page, board: Locator, file: str, readme: bool = False) -> None:
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / f"page_{file}"))
    board.screenshot(path=str(ARTIFACTS / file))
    if readme and os.environ.get("JITMAGIC_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(ARTIFACTS / file, ROOT / "docs" / "dashboard.png")
