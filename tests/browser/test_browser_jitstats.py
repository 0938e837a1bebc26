"""`%jitstats` in JupyterLab: every tracked function, live, numbers right-aligned.

The table is shown before the functions are called; a later cell calls them, and the shown
table must then read the final counts (live `update_display_data`, no re-run), with each
numeric column's cells flush right under their header.
"""

from __future__ import annotations

from lab_harness import Lab, cells, notebook_of, open_notebook, run_all
from playwright.sync_api import Page, expect

CELLS = [
    "%load_ext jitmagic\nimport jax.numpy as jnp",
    "def double(x):\n    return x * 2\n\ndef scale(x, k):\n    return x * k",
    "%jit double --no-dashboard\n%jit scale --static k --no-dashboard",
    "%jitstats --sort name",
    "for n in (3, 3, 4):\n    double(jnp.ones(n))\nfor k in (1.0, 2.0, 2.0, 2.0):\n"
    "    scale(jnp.ones(3), k)",
]
STATS = 3
# Per numeric column: the right edges of the header cell and of every body cell's text.
ALIGN_JS = """(table) => {
  const rows = [...table.querySelectorAll('tr')];
  const out = [];
  for (let col = 1; col <= 5; col++) {
    const edges = rows.map(r => {
      const cell = r.children[col];
      const range = document.createRange();
      range.selectNodeContents(cell);
      const text = range.getBoundingClientRect(), box = cell.getBoundingClientRect();
      return box.right - parseFloat(getComputedStyle(cell).paddingRight) - text.right;
    });
    out.push(edges);
  }
  return out;
}"""


def test_jitstats_is_live_and_right_aligned(lab: Lab, page: Page) -> None:
    name = lab.upload(notebook_of(CELLS), "jitstats")
    try:
        open_notebook(page, lab, name)
        run_all(page, len(CELLS))
        table = cells(page).nth(STATS).locator("table.jitmagic-stats-static")
        rows = table.locator("tr")
        expect(rows).to_have_count(3, timeout=30_000)  # header + both functions, live
        expect(rows.nth(1).locator("td").nth(0)).to_have_text("double")
        expect(rows.nth(2).locator("td").nth(0)).to_have_text("scale")
        # calls, hits, misses of each (sorted by name)
        expect(rows.nth(1).locator("td").nth(1)).to_have_text("3")
        expect(rows.nth(1).locator("td").nth(2)).to_have_text("1")
        expect(rows.nth(1).locator("td").nth(3)).to_have_text("2")
        expect(rows.nth(2).locator("td").nth(1)).to_have_text("4")
        expect(rows.nth(2).locator("td").nth(2)).to_have_text("2")
        expect(rows.nth(2).locator("td").nth(3)).to_have_text("2")
        expect(rows.nth(2)).to_contain_text("k: 1.0 → 2.0 (static)")
        gaps = table.evaluate(ALIGN_JS)
        assert all(abs(g) <= 1.5 for column in gaps for g in column), gaps  # flush right
        assert not page.errors, page.errors
    finally:
        lab.remove(name)
