"""The dashboard in a real JupyterLab + chromium: exact after four calls, live during a loop.

Screenshots go to `ci-artifacts/` (gitignored). The README's `docs/dashboard.png` comes from
`test_browser_mlp.py` (a real training step), not from this tutorial-sized function.
"""

from __future__ import annotations

from pathlib import Path

from lab_harness import (
    Lab,
    cells,
    notebook_of,
    open_notebook,
    output_text,
    prompt,
    run_cell,
    wait_cell_done,
)
from playwright.sync_api import Locator, Page, expect

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "ci-artifacts"


CELLS = [
    "%load_ext jitmagic\nimport time\nimport jax.numpy as jnp\nimport jitmagic\n"
    "print(jitmagic.__file__)",
    "def conditional_double(x, threshold):\n    return jnp.where(x > threshold, x * 2, x)",
    "%jit conditional_double --static threshold",
    "x = jnp.array(5.0)\nfor t in (0.0, 0.0, 10.0, 10.0):\n    conditional_double(x, threshold=t)",
    "for i in range(2000):\n    conditional_double(x, threshold=0.0)\n"
    "    if i % 100 == 99:\n        time.sleep(0.1)",
    "s = conditional_double.stats\nprint(f'ledger {s.calls} {s.hits} {s.misses}')",
]
LOOP = 4

# Records every distinct (calls, hits, misses) the DOM shows, and whether the loop cell
# was still running ("[*]") at that moment: proof of live updates during the loop.
SAMPLER_JS = """(loop) => {
  window.__seen = [];
  const text = (c) => { const e = document.querySelector('.jitmagic-dashboard .' + c);
                        return e ? e.textContent.trim() : null; };
  setInterval(() => {
    const cellsEls = document.querySelectorAll(
      '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Notebook-cell');
    const p = cellsEls[loop] && cellsEls[loop].querySelector('.jp-InputArea-prompt');
    const v = [text('jm-calls'), text('jm-hits'), text('jm-misses'),
               !!p && p.textContent.includes('*')];
    const last = window.__seen[window.__seen.length - 1];
    if (!last || last.join() !== v.join()) window.__seen.push(v);
  }, 20);
}"""


def test_dashboard_live_in_jupyterlab(lab: Lab, page: Page) -> None:
    name = lab.upload(notebook_of(CELLS), "dashboard")
    try:
        open_notebook(page, lab, name)
        expect(cells(page)).to_have_count(len(CELLS), timeout=60_000)
        for i in range(LOOP):
            run_cell(page, i)
        assert output_text(page, 0).strip() == str(ROOT / "jitmagic" / "__init__.py")
        board = page.locator(".jitmagic-dashboard")
        expect(board.locator(".jm-misses")).to_have_text("2")
        expect(board.locator(".jm-hits")).to_have_text("2")
        expect(board.locator(".jm-calls")).to_have_text("4")
        expect(board.locator(".jm-row")).to_have_count(2)
        expect(board).to_contain_text("threshold: 0.0 → 10.0 (static)")

        page.evaluate(SAMPLER_JS, LOOP)
        run_cell(page, LOOP, wait=False)
        expect(prompt(page, LOOP)).to_have_text("[*]:")
        wait_cell_done(page, LOOP)
        run_cell(page, LOOP + 1)
        _, calls, hits, misses = output_text(page, LOOP + 1).split()
        assert (calls, hits, misses) == ("2004", "2002", "2")
        expect(board.locator(".jm-calls")).to_have_text(calls)
        expect(board.locator(".jm-hits")).to_have_text(hits)
        expect(board.locator(".jm-misses")).to_have_text(misses)

        seen = page.evaluate("window.__seen")
        during = {int(c) for c, _h, _m, running in seen if running and c and 4 < int(c) < 2004}
        assert len(during) >= 3, f"expected climbing numbers while the loop ran, saw {seen}"

        board.locator(".jm-row").nth(1).locator("summary").first.click()  # the expander
        expect(board.locator(".jm-row").nth(1).locator("pre").first).to_be_visible()
        _screenshots(page, board)
        assert not page.errors, page.errors
    finally:
        lab.remove(name)


def _screenshots(page: Page, board: Locator) -> None:
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "browser_dashboard_page.png"))
    board.screenshot(path=str(ARTIFACTS / "dashboard.png"))
