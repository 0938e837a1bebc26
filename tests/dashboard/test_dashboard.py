"""The live dashboard without a frontend: widget traits, throttling, lifecycle, fallbacks."""

from __future__ import annotations

import threading
import time
import warnings

import jax.numpy as jnp
import pytest

import jitmagic
from jitmagic.dashboard import poller as _poller
from jitmagic.dashboard import widgets as dash
from jitmagic.dashboard.views import HIT_NOTE
from jitmagic.errors import RecompileWarning

REASON = "threshold: 0.0 → 10.0 (static)"


def conditional_double(x, threshold):
    return jnp.where(x > threshold, x * 2, x)


@pytest.fixture(autouse=True)
def _stop_dashboards():
    yield
    dash.shutdown()


@pytest.fixture
def fn():
    return jitmagic.jit(conditional_double, static_argnames="threshold")


def scripted(f) -> None:
    x = jnp.array(5.0)
    for t in (0.0, 0.0, 10.0, 10.0):
        f(x, threshold=t)


def wait_for(predicate, timeout: float = 10.0) -> bool:
    """Wait (not a timing assertion): the poller runs on its own thread."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_traits_after_scripted_calls(fn):
    board = dash.Dashboard(fn)
    scripted(fn)
    assert board.refresh()
    assert (board.calls.value, board.hits.value, board.misses.value) == ("4", "2", "2")
    assert board.ratio.value == "50%"
    assert board.ratio_bar.value == pytest.approx(0.5)
    assert sorted(board.rows) == [0, 1]
    row1 = board.rows[1].children[1].value
    assert REASON in row1
    assert "x: ~f32[], threshold=10.0" in row1
    assert "first call" in board.rows[0].children[1].value
    assert "ms total" in board.compile.value
    assert "ms last" in board.compile.value
    assert board.churn.layout.display == "none"
    assert not board.refresh(), "nothing changed: nothing may be sent"


def test_rows_update_only_when_changed(fn):
    board = dash.Dashboard(fn)
    scripted(fn)
    board.refresh()
    first_rows = dict(board.rows)
    events: list[str] = []
    for row in first_rows.values():
        row.children[1].observe(lambda ch: events.append(ch.new), names="value")
    fn(jnp.ones(3), threshold=0.0)  # a third entry (shape change)
    board.refresh()
    assert sorted(board.rows) == [0, 1, 2]
    assert all(board.rows[i] is first_rows[i] for i in (0, 1)), "rows are built once"
    assert events == [], "unchanged rows must not be re-sent"
    assert board.table.children == tuple(board.rows[i] for i in (0, 1, 2))
    assert "x: f32[] → f32[3]" in board.rows[2].children[1].value


def test_live_updates_are_throttled_and_final_state_exact(fn):
    board = dash.Dashboard(fn)
    board._repr_mimebundle_()  # displaying registers it with the poller
    scripted(fn)
    seen: list[str] = []
    board.calls.observe(lambda ch: seen.append(ch.new), names="value")
    updates0, ticks0 = board.updates, _poller.POLLER.ticks
    x = jnp.array(1.0)
    n = 2000
    for i in range(n):
        fn(x, threshold=0.0)
        if i % 200 == 199:
            time.sleep(0.05)  # give the poller room to show intermediate values
    final = fn.stats
    assert wait_for(lambda: board.calls.value == str(final.calls))
    updates = board.updates - updates0
    ticks = _poller.POLLER.ticks - ticks0
    assert 1 <= updates <= ticks, "at most one update per poll tick"
    assert updates < n
    assert (board.calls.value, board.hits.value, board.misses.value) == (
        str(final.calls), str(final.hits), str(final.misses))
    assert final.calls == n + 4
    assert any(4 < int(v) < final.calls for v in seen), f"no intermediate value in {seen}"


def test_calls_from_worker_threads_are_counted(fn):
    board = dash.Dashboard(fn)
    board._repr_mimebundle_()
    scripted(fn)
    x = jnp.array(1.0)

    def work() -> None:
        for _ in range(250):
            fn(x, threshold=0.0)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wait_for(lambda: board.calls.value == "1004")
    assert (board.hits.value, board.misses.value) == ("1002", "2")


def test_show_dashboard_replaces_previous_for_same_key(fn, capsys):
    boards = [dash.show_dashboard(fn, key="cell:demo") for _ in range(50)]
    assert dash.dashboard_count() == 1
    assert all(b.widget.comm is None for b in boards[:-1]), "replaced views are closed"
    assert boards[-1].widget.comm is not None
    dash.show_dashboard(fn, key="cell:other")
    assert dash.dashboard_count() == 2
    assert "calls 0" in capsys.readouterr().out  # no frontend: the text form is printed


def test_rerunning_jit_magic_keeps_one_dashboard_and_one_hook(ip):
    ip.run_cell("import jax.numpy as jnp\n"
                "def conditional_double(x, threshold): return jnp.where(x > threshold, x*2, x)")
    for _ in range(50):
        ip.run_line_magic("jit", "conditional_double --static threshold")
    assert dash.dashboard_count() == 1
    hooks = [cb for cb in ip.events.callbacks["post_run_cell"] if cb is _poller.after_cell]
    assert len(hooks) == 1
    ip.run_cell("for t in (0.0, 0.0, 10.0, 10.0): conditional_double(jnp.array(5.0), threshold=t)")
    board = _poller.POLLER._boards["jit:conditional_double"]
    # the cell-end hook refreshed synchronously: exact without waiting for the thread
    assert (board.calls.value, board.hits.value, board.misses.value) == ("4", "2", "2")
    thread = dash.poller_thread()
    ip.run_line_magic("unload_ext", "jitmagic")
    assert dash.dashboard_count() == 0
    assert thread is not None
    assert not thread.is_alive()
    assert _poller.after_cell not in ip.events.callbacks["post_run_cell"]


def test_shutdown_ends_the_thread(fn):
    dash.Dashboard(fn)._repr_mimebundle_()
    thread = dash.poller_thread()
    assert thread is not None
    assert thread.is_alive()
    assert thread.daemon
    dash.shutdown()
    assert not thread.is_alive()
    assert dash.poller_thread() is None
    assert dash.dashboard_count() == 0
    dash.Dashboard(fn)._repr_mimebundle_()  # and it comes back on the next display
    assert dash.poller_thread().is_alive()


def test_text_and_html_fallback(fn):
    scripted(fn)
    board = fn.dashboard()
    text = str(board)
    assert "conditional_double: calls 4 · hits 2 · misses 2 · hit ratio 50%" in text
    assert REASON in text
    assert "x: ~f32[], threshold=0.0" in text
    assert HIT_NOTE in text
    assert repr(board) == text
    bundle = board._repr_mimebundle_()
    assert bundle["text/plain"] == text
    assert "application/vnd.jupyter.widget-view+json" in bundle
    page = bundle["text/html"]
    assert "<table" in page
    assert REASON in page
    assert "calls 4" in page
    assert "<details><summary>#1</summary>" in page
    assert dash.SNAPSHOT_NOTE in page
    assert "10.0" in page


def test_clicking_an_entry_shows_its_graph(fn):
    scripted(fn)
    board = dash.Dashboard(fn)
    board.show_graph(1)
    (out,) = board.graph_out.outputs
    assert "threshold = 10.0" in out["data"]["text/plain"]
    assert "#1" in board.graph_title.value
    board.show_graph(1)  # a second click hides it
    assert board.graph_out.outputs == ()
    assert board.graph_title.value == ""


def test_churn_is_flagged_with_a_fix(fn):
    x = jnp.array(1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecompileWarning)
        for i in range(8):
            fn(x, threshold=float(i))
    board = dash.Dashboard(fn)
    assert board.churn.layout.display == ""
    assert "static `threshold` changed on 7 of 7 calls (8 distinct values" in board.churn.value
    assert "Fix: if `threshold` is data, drop it from --static" in board.churn.value
    assert "⚠ churn: static `threshold`" in str(board)


def test_shape_churn_is_flagged(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecompileWarning)
        for i in range(8):
            fn(jnp.ones(i + 1), threshold=0.0)
    text = str(fn.dashboard())
    assert "the shape of `x` changed on 7 of 7 calls" in text
    assert "Fix: pad `x` to a few fixed sizes" in text


def test_statsboard_sorts_and_falls_back_to_text(fn):
    other = jitmagic.jit(lambda y: y + 1)
    other(jnp.ones(2))
    scripted(fn)
    board = dash.StatsBoard([other, fn], sort="misses")
    text = str(board)
    lines = text.splitlines()
    assert lines[1].startswith("conditional_double | 4 | 2 | 2 | 50%")
    assert lines[2].startswith("<lambda> | 1 | 0 | 1")
    board.sort.value = "name"
    assert str(board).splitlines()[1].startswith("<lambda>")
    assert board.table.value.index("&lt;lambda&gt;") < board.table.value.index("conditional")
    bundle = board._repr_mimebundle_()
    assert {"text/plain", "text/html"} <= set(bundle)
    assert REASON in bundle["text/html"]
    with pytest.raises(ValueError, match="sort must be one of"):
        dash.StatsBoard([fn], sort="speed")


def test_statsboard_refreshes_live(fn):
    board = dash.StatsBoard([fn])
    board._repr_mimebundle_()
    scripted(fn)
    assert wait_for(lambda: "<td>4</td>" in board.table.value)
    assert dash.flush() == 0, "already up to date"
