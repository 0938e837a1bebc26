"""Drive a real JupyterLab in Debian's chromium through Playwright (no browser download).

Adapted from the proven recipe in `shared/reference/browser/browser_test.py`: an isolated
JupyterLab (own config/runtime/workspace dirs, no token, app exposed to the page), each
notebook uploaded under a unique name and deleted with its kernel afterwards, and a
"kernel really idle" wait (right after load the indicator says idle while the kernel
name still reads "No Kernel"; commands sent then are dropped).
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
from playwright.sync_api import Locator, Page, expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
T = 60_000  # per-wait timeout, ms


class Lab:
    """A running JupyterLab server and a cookie-aware REST client for it."""

    def __init__(self, proc: subprocess.Popen, base: str) -> None:
        self.proc, self.base = proc, base
        jar = http.cookiejar.CookieJar()
        self._jar = jar
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def api(self, method: str, path: str, body: dict | None = None) -> Any:
        """REST call; non-GET requests echo the `_xsrf` cookie (token auth is off)."""
        headers = {"Content-Type": "application/json"}
        if method != "GET":
            if not any(c.name == "_xsrf" for c in self._jar):
                self._opener.open(self.base + "/lab", timeout=30).read()
            headers["X-XSRFToken"] = next((c.value for c in self._jar if c.name == "_xsrf"), "")
        req = urllib.request.Request(
            self.base + path, method=method, headers=headers,
            data=None if body is None else json.dumps(body).encode())
        with self._opener.open(req, timeout=30) as r:
            raw = r.read()
            return json.loads(raw) if raw else None

    def upload(self, nb: dict, stem: str) -> str:
        name = f"_bt_{uuid.uuid4().hex[:8]}_{stem}.ipynb"
        self.api("PUT", f"/api/contents/{name}", {"type": "notebook", "format": "json",
                                                  "content": nb})
        return name

    def remove(self, name: str) -> None:
        """Delete the notebook and shut its kernel down (best effort)."""
        with contextlib.suppress(Exception):
            for s in self.api("GET", "/api/sessions") or []:
                if s.get("path") == name:
                    self.api("DELETE", f"/api/sessions/{s['id']}")
            self.api("DELETE", f"/api/contents/{name}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _jupyter_server(module: str, app: str, workdir: Path, log: Path) -> Iterator[Lab]:
    """Start `python -m <module>` isolated under `workdir` (own config, runtime, settings and
    workspace dirs; no token); `<app>.expose_app_in_browser` gives `window.jupyterapp`, which
    `wait_kernel_idle` consults. Stopped by PID on exit."""
    env = dict(os.environ)
    for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                     ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
                     ("JUPYTERLAB_SETTINGS_DIR", "settings")]:
        (workdir / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(workdir / sub)
    labconfig = workdir / "config" / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    root = workdir / "root"
    root.mkdir(exist_ok=True)
    port = _free_port()
    cmd = [sys.executable, "-m", module, "--no-browser", f"--port={port}",
           "--ip=127.0.0.1", f"--ServerApp.root_dir={root}", "--IdentityProvider.token=",
           "--ServerApp.password=", "--allow-root", f"--{app}.expose_app_in_browser=True"]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    server = Lab(proc, f"http://127.0.0.1:{port}")
    try:
        _wait_up(server, log)
        yield server
    finally:
        _stop(proc)


def jupyter_lab(workdir: Path, log: Path) -> contextlib.AbstractContextManager[Lab]:
    """Start an isolated JupyterLab under `workdir`; stop it by PID on exit."""
    return _jupyter_server("jupyterlab", "LabApp", workdir, log)


def notebook_of(cells: list[str]) -> dict:
    """A Python 3 notebook with these code cells (what the tests upload)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def _wait_up(lab: Lab, log: Path) -> None:
    for _ in range(120):
        if lab.proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early, see {log}")
        try:
            lab.api("GET", "/api/status")
            return
        except Exception:
            time.sleep(0.5)
    raise RuntimeError(f"jupyter lab did not come up in 60 s, see {log}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)  # jupyter shuts its kernels down on SIGTERM
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


_IDLE_JS = """() => {
  const p = [...document.querySelectorAll('.jp-NotebookPanel')]
    .find(e => !e.classList.contains('lm-mod-hidden'));
  if (!p) return false;
  const ind = p.querySelector('.jp-Notebook-ExecutionIndicator');
  const kn = p.querySelector('.jp-Toolbar-kernelName');
  let ok = !!ind && ind.getAttribute('data-status') === 'idle' && !!kn
    && kn.textContent.trim() !== 'No Kernel';
  const app = window.jupyterapp;
  if (ok && app) {
    const w = app.shell.currentWidget, sc = w && w.sessionContext;
    ok = !!sc && sc.isReady && !!(sc.session && sc.session.kernel)
      && sc.kernelDisplayStatus === 'idle';
  }
  if (!ok) { window.__kernelIdleSince = null; return false; }
  window.__kernelIdleSince = window.__kernelIdleSince || Date.now();
  return Date.now() - window.__kernelIdleSince > 500;
}"""


def wait_kernel_idle(page: Page, timeout: int = T) -> None:
    """Kernel connected, named and idle for 0.5 s (see the module docstring)."""
    page.wait_for_function(_IDLE_JS, timeout=timeout, polling=100)


def open_notebook(page: Page, lab: Lab, name: str) -> None:
    page.goto(f"{lab.base}/lab/tree/{name}?reset", wait_until="domcontentloaded")
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=T)
    wait_kernel_idle(page)
    with contextlib.suppress(Exception):  # the "Jupyter news?" toast covers the corner
        btn = page.locator(".Toastify__toast button", has_text="No")
        if btn.count():
            btn.first.click(timeout=2000)


def cells(page: Page) -> Locator:
    """JupyterLab 4 windows its cells; this selector still reaches every one."""
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Notebook-cell")


def prompt(page: Page, i: int) -> Locator:
    return cells(page).nth(i).locator(".jp-InputArea-prompt")


def wait_cell_done(page: Page, i: int, timeout: int = T) -> None:
    """Cell i shows an execution count (`[n]:`), not `[ ]:` or `[*]:`."""
    expect(prompt(page, i)).to_have_text(re.compile(r"^\[\d+\]:$"), timeout=timeout)


def run_cell(page: Page, i: int, wait: bool = True) -> None:
    """Select cell i in command mode and Shift+Enter it."""
    prompt(page, i).click()
    page.keyboard.press("Escape")
    page.keyboard.press("Shift+Enter")
    if wait:
        wait_cell_done(page, i)


def run_all(page: Page, count: int) -> None:
    """Wait until the page shows all `count` cells of the notebook, then run each in order."""
    expect(cells(page)).to_have_count(count, timeout=T)
    for i in range(count):
        run_cell(page, i)


def output_text(page: Page, i: int) -> str:
    return cells(page).nth(i).locator(".jp-OutputArea-output").first.inner_text(timeout=T)


# --- Jupyter Notebook 7 (same isolation; its notebook page is built from JupyterLab parts) ---


def jupyter_notebook7(workdir: Path, log: Path) -> contextlib.AbstractContextManager[Lab]:
    """Start an isolated Notebook 7 server under `workdir`; stop it by PID on exit.

    Notebook 7 reads the same config, runtime and lab settings/workspace dirs as JupyterLab,
    so the same isolation applies.
    """
    return _jupyter_server("notebook", "JupyterNotebookApp", workdir, log)


def open_notebook7(page: Page, server: Lab, name: str) -> None:
    """Open `name` in Notebook 7's single-document page and wait for a really idle kernel.

    The page has one `.jp-NotebookPanel` with the same toolbar execution indicator and
    kernel name as JupyterLab, so `wait_kernel_idle`, `cells` and `run_cell` apply as is.
    """
    page.goto(f"{server.base}/notebooks/{name}", wait_until="domcontentloaded")
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=T)
    wait_kernel_idle(page)


# --- themes, saving, reopening ---


def set_theme(page: Page, theme: str) -> None:
    """Switch JupyterLab's theme ("JupyterLab Light" / "JupyterLab Dark") and wait for it."""
    page.evaluate("(t) => window.jupyterapp.commands.execute('apputils:change-theme', "
                  "{theme: t})", theme)
    light = "true" if "Light" in theme else "false"
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'",
                           timeout=T)


def save(page: Page, server: Lab, name: str) -> dict:
    """Save the open notebook from the page; the saved file as the server has it."""
    before = server.api("GET", f"/api/contents/{name}?content=0")["last_modified"]
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    for _ in range(100):
        model = server.api("GET", f"/api/contents/{name}?content=1")
        if model["last_modified"] != before:
            return model["content"]
        time.sleep(0.1)
    raise AssertionError(f"{name} was not saved")


def stop_kernel(server: Lab, name: str) -> None:
    """Shut the notebook's kernel down and close its session (what "Shut Down Kernel" does)."""
    for s in server.api("GET", "/api/sessions") or []:
        if s.get("path") == name:
            server.api("DELETE", f"/api/sessions/{s['id']}")
    for _ in range(100):
        if not any(s.get("path") == name for s in server.api("GET", "/api/sessions") or []):
            return
        time.sleep(0.1)
    raise AssertionError(f"the kernel of {name} is still running")


def reopen(page: Page, server: Lab, name: str, lab: bool = True) -> None:
    """Open a saved notebook in a fresh page (JupyterLab, or Notebook 7 with `lab=False`).

    Its new kernel has run nothing, so every output shown comes from the saved file.
    """
    url = f"/lab/tree/{name}?reset" if lab else f"/notebooks/{name}"
    page.goto(server.base + url, wait_until="domcontentloaded")
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=T)
