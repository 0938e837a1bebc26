"""The live dashboard without a frontend: what it publishes, when, lifecycle, text forms.

A `publish` callback stands where a kernel's display handle would be (the browser tests
check the real frontends); it records every bundle the view would send.
"""

from __future__ import annotations

import json
import re
import threading
import time
import warnings

import jax.numpy as jnp
import pytest
import realmodels as rm
from IPython.display import display

import jitmagic
from jitmagic.dashboard import live as dash
from jitmagic.dashboard import poller as _poller
from jitmagic.errors import RecompileWarning

REASON = "threshold: 0.0 → 10.0 (static)"


def conditional_double(x, threshold):
    return jnp.where(x > threshold, x * 2, x)


@pytest.fixture(autouse=True)
def _stop_dashboards():
    yield
    _poller.shutdown()


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


def counters(page: str) -> tuple[str, str, str]:
    return tuple(re.search(f"class='jm-{c}'>([^<]*)<", page).group(1)
                 for c in ("calls", "hits", "misses"))


class Sent(list):
    """Every bundle a view published, JSON round-tripped as a kernel would send it."""

    def __call__(self, bundle: dict) -> None:
        self.append(json.loads(json.dumps(bundle)))

    @property
    def html(self) -> str:
        return self[-1]["text/html"]


def shown(f, key: str = "test") -> tuple[dash.Dashboard, Sent]:
    """A dashboard displayed (its first bundle taken) and polled, publishing into `Sent`."""
    sent = Sent()
    board = dash.Dashboard(f, key=key, publish=sent)
    board._repr_mimebundle_()
    _poller.POLLER.add(board.key, board)
    return board, sent


def test_publishes_only_when_the_ledger_changed(fn):
    board, sent = shown(fn)
    scripted(fn)
    board.refresh()  # (the polling thread may have sent it already)
    assert counters(sent.html) == ("4", "2", "2")
    assert "50%" in sent.html
    n = len(sent)
    assert not board.refresh(), "nothing changed: nothing may be sent"
    assert _poller.flush() == 0
    assert len(sent) == n
    assert sent.html.count("class='jm-row'") == 2
    assert REASON in sent.html
    assert "ms total" in sent.html
    assert "ms last" in sent.html
    assert "jm-churn" not in sent.html


def test_rows_are_rebuilt_only_when_entries_change(fn):
    board, _sent = shown(fn)
    scripted(fn)
    rows = board.rows()
    fn(jnp.array(5.0), threshold=0.0)  # a hit: same rows object
    assert board.rows() is rows
    fn(jnp.ones(3), threshold=0.0)  # a third entry (shape change)
    assert board.rows() is not rows
    assert "x: f32[] → f32[3]" in board.rows()


def test_live_updates_are_throttled_and_final_state_exact(fn):
    board, sent = shown(fn)
    scripted(fn)
    updates0, ticks0 = board.updates, _poller.POLLER.ticks
    x = jnp.array(1.0)
    n = 2000
    for i in range(n):
        fn(x, threshold=0.0)
        if i % 200 == 199:
            time.sleep(0.05)  # give the poller room to show intermediate values
    final = fn.stats
    assert wait_for(lambda: sent and counters(sent.html)[0] == str(final.calls))
    updates = board.updates - updates0
    ticks = _poller.POLLER.ticks - ticks0
    assert 1 <= updates <= ticks, "at most one update per poll tick"
    assert updates < n
    assert counters(sent.html) == (str(final.calls), str(final.hits), str(final.misses))
    assert final.calls == n + 4
    seen = [int(counters(b["text/html"])[0]) for b in sent]
    assert any(4 < v < final.calls for v in seen), f"no intermediate value in {seen}"


def test_calls_from_worker_threads_are_counted(fn):
    _board, sent = shown(fn)
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
    assert wait_for(lambda: sent and counters(sent.html) == ("1004", "1002", "2"))


def test_cell_end_resends_once_per_change(fn):
    board, sent = shown(fn)
    scripted(fn)
    board.refresh()  # as if the polling thread had sent it (outside any cell)
    n = len(sent)
    _poller.after_cell()  # the cell's end re-sends it from the cell's request
    assert len(sent) == n + 1
    _poller.after_cell()
    assert len(sent) == n + 1, "unchanged since the last cell end: nothing sent"


def test_show_dashboard_replaces_previous_for_same_key(fn, capsys):
    boards = [dash.show_dashboard(fn, key="cell:demo", display=display, live=False)
              for _ in range(50)]
    assert _poller.dashboard_count() == 1
    assert _poller.POLLER._boards["cell:demo"] is boards[-1]
    dash.show_dashboard(fn, key="cell:other", display=display, live=False)
    assert _poller.dashboard_count() == 2
    assert "calls 0" in capsys.readouterr().out  # no frontend: the text form is printed


def test_rerunning_jit_magic_keeps_one_dashboard_and_one_hook(ip):
    ip.run_cell("import jax.numpy as jnp\n"
                "def conditional_double(x, threshold): return jnp.where(x > threshold, x*2, x)")
    for _ in range(50):
        ip.run_line_magic("jit", "conditional_double --static threshold")
    assert _poller.dashboard_count() == 1
    hooks = [cb for cb in ip.events.callbacks["post_run_cell"] if cb is _poller.after_cell]
    assert len(hooks) == 1
    board = _poller.POLLER._boards["jit:conditional_double"]
    assert board.publish is None, "a terminal shell: shown once, not re-printed live"
    thread = _poller.poller_thread()
    ip.run_line_magic("unload_ext", "jitmagic")
    assert _poller.dashboard_count() == 0
    assert thread is not None
    assert not thread.is_alive()
    assert _poller.after_cell not in ip.events.callbacks["post_run_cell"]


def test_shutdown_ends_the_thread(fn):
    shown(fn)
    thread = _poller.poller_thread()
    assert thread is not None
    assert thread.is_alive()
    assert thread.daemon
    _poller.shutdown()
    assert not thread.is_alive()
    assert _poller.poller_thread() is None
    assert _poller.dashboard_count() == 0
    shown(fn)  # and it comes back on the next display
    assert _poller.poller_thread().is_alive()


def test_text_and_html_forms(fn):
    scripted(fn)
    board = fn.dashboard()
    text = str(board)
    assert "conditional_double: calls 4 · hits 2 · misses 2 · hit ratio 50%" in text
    assert "jit time (trace + lower + compile)" in text
    assert REASON in text
    assert "x: ~f32[], threshold=0.0" in text
    assert "~ marks a weak type" in text
    assert "per entry" not in text, "the per-function hits caveat is help text, not a footer"
    assert repr(board) == text
    bundle = board._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}, "no widget: nothing to go missing"
    assert bundle["text/plain"] == text
    page = bundle["text/html"]
    assert REASON in page
    assert counters(page) == ("4", "2", "2")
    assert "XLA compile ms" in page
    assert "<abbr title='~ marks a weak type" in page
    help_text = page.split("help</small></summary>")[1]
    assert "Hits are counted per function, not per entry" in help_text  # in the help only
    assert page.count("not per entry") == 1
    assert "help</small></summary>" in page
    assert page.count("<summary>jaxpr</summary><pre>{ lambda") == 2  # each entry's jaxpr


def test_mlp_signatures_show_only_what_differs():
    step = jitmagic.jit(rm.mlp_step, static_argnames="lr")
    rm.mlp_three_entries(step)
    lines = str(step.dashboard()).splitlines()
    first, second, third = (next(x for x in lines if x.startswith(f"  #{i} |"))
                            for i in range(3))
    assert "params: {[0]['b']: f32[128], [0]['w']: f32[784,128]," in first
    assert first.split(" | ")[1] == "first call"  # the miss reason right after the number
    assert second.split(" | ")[1] == "x: f32[32,784] → f32[64,784]; y: f32[32,10] → f32[64,10]"
    assert second.split(" | ")[2] == "x: f32[64,784], y: f32[64,10]; params: 6 leaves, " \
        "lr=0.01, same as #0"
    assert third.split(" | ")[2] == "lr=0.1; params: 6 leaves, x, y, same as #1"
    page = step.dashboard().html()
    assert page.count("class='jm-row'") == 3
    assert "<mark class='jm-changed'" in page
    assert "[2][&#x27;w&#x27;]: f32[64,10]" in page  # every leaf in the expanders


def test_hundreds_of_leaves_stay_one_summary(fn):
    f = jitmagic.jit(lambda tree, k: sum(tree) * k)
    f([jnp.ones(2)] * 300, 1.0)
    f([jnp.ones(2)] * 300, jnp.ones(2))
    page = f.dashboard().html()
    assert "tree: 300 leaves, same as #0" in page
    assert "[11]: f32[2], … 288 more}" in page  # #0's line: 12 leaves, the rest counted
    assert page.count("[299]: f32[2]") == 2  # only the two expanders list every leaf


def test_churn_is_flagged_with_a_fix(fn):
    x = jnp.array(1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecompileWarning)
        for i in range(8):
            fn(x, threshold=float(i))
    page = fn.dashboard().html()
    assert "static `threshold` changed on 7 of 7 calls (8 distinct values" in page
    assert "Fix: if `threshold` is data, drop it from --static" in page
    board = fn.dashboard()
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
    lines = str(board).splitlines()
    assert lines[0].startswith("function           | calls | hits | misses | hit ratio |")
    assert lines[1].startswith("conditional_double |     4 |    2 |      2 |       50% |")
    assert lines[2].startswith("<lambda>           |     1 |    0 |      1 |        0% |")
    by_name = dash.StatsBoard([other, fn], sort="name")
    assert str(by_name).splitlines()[1].startswith("<lambda>")
    page = by_name.html()
    assert page.index("&lt;lambda&gt;") < page.index("conditional")
    assert "text-align:right" in page
    bundle = board._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert REASON in bundle["text/html"]
    with pytest.raises(ValueError, match="sort must be one of"):
        dash.StatsBoard([fn], sort="speed")


def test_statsboard_refreshes_live(fn):
    sent = Sent()
    board = dash.StatsBoard([fn], publish=sent)
    board._repr_mimebundle_()
    _poller.POLLER.add(board.key, board)
    scripted(fn)
    assert wait_for(lambda: sent and ">4</td>" in sent.html)
    assert _poller.flush() == 0, "already up to date"


def test_transformer_step_entries_stay_one_line_each():
    """A real optimizer state: params and opt (m, v) trees summarised, tokens shown."""
    step = jitmagic.jit(rm.transformer_step)
    params, opt, tokens = rm.transformer_args(layers=2)
    step(params, opt, tokens)
    step(params, opt, tokens[:, :8])
    lines = str(step.dashboard()).splitlines()
    first, second = (next(x for x in lines if x.startswith(f"  #{i} |")) for i in range(2))
    assert "['blocks'][0]['down']: f32[128,32]" in first
    assert "… 2 more}" in first  # 14 params leaves: 12 on the line, the rest counted
    assert second.split(" | ")[1] == "tokens: i32[4,17] → i32[4,8]"
    assert second.split(" | ")[2] == "tokens: i32[4,8]; params: 14 leaves, opt: 29 leaves, " \
        "same as #0"
    page = step.dashboard().html()
    assert page.count("class='jm-row'") == 2
    expanders = page.split("<div class='jm-full'")[1:]
    assert len(expanders) == 2
    assert all("opt: 29 leaves" in e and "params: 14 leaves" in e for e in expanders)
