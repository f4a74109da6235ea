"""Fixtures for the browser test: a private JupyterLab server and headless Chromium.

The server runs from the project's own environment (``sys.executable -m jupyterlab``), bound to
127.0.0.1 on a free port, with a random token (authentication stays on). Everything JupyterLab
would write for a user (config, runtime files, workspaces, settings, IPython profile) goes to a
temporary directory, and the notebooks are served from a temporary *copy* of ``notebooks/`` so
running them in the browser never touches the committed files. The project's kernel stays
visible because it is installed into the environment (``.venv/share/jupyter/kernels``).

Chromium is Debian's system browser (``apt-get install chromium``); Playwright is pointed at it
with ``executable_path`` (``playwright install`` is never needed). Without chromium or
playwright the tests are skipped with a reason (``pytest -rs`` shows it), unless
``MMOE_LAB_REQUIRE_BROWSER=1`` (set by ``.ci/run``) turns the skip into a failure.

Artefacts (screenshots, server log, browser console) land in ``tests/browser/artifacts/``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# the window a learner is assumed to have (screenshots are looked at in this size)
VIEWPORT = {"width": 1400, "height": 900}
SERVER_START_TIMEOUT_S = float(os.environ.get("MMOE_LAB_SERVER_TIMEOUT", "180"))

# User settings written into the private settings dir: no network calls for news/updates
# (their toast would cover screenshots). Everything else stays at JupyterLab's defaults,
# i.e. what a learner gets.
USER_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def find_chromium() -> str | None:
    """Path of the system Chromium (``$MMOE_LAB_CHROMIUM`` overrides), or None."""
    override = os.environ.get("MMOE_LAB_CHROMIUM")
    if override:
        return override if Path(override).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("MMOE_LAB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (MMOE_LAB_REQUIRE_BROWSER=1, so this is an error, not a skip)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    """A running JupyterLab: where it listens, its token, and the served notebook folder."""

    base_url: str
    token: str
    root_dir: Path
    log_path: Path
    process: subprocess.Popen

    def request(self, path: str, *, method: str = "GET", auth: bool = True) -> tuple[int, bytes]:
        """HTTP request to the server; returns (status, body). ``auth=False`` omits the token."""
        headers = {"Authorization": f"token {self.token}"} if auth else {}
        req = urllib.request.Request(self.base_url + path, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def lab_url(self, notebook: str) -> str:
        # ?reset: start from an empty workspace, not the tabs an earlier test left open
        return f"{self.base_url}/lab/tree/{notebook}?reset&token={self.token}"

    def shutdown_kernels(self) -> None:
        """Delete every session (and its kernel); TF kernels are heavy on a shared machine."""
        status, body = self.request("/api/sessions")
        if status == 200:
            for session in json.loads(body):
                self.request(f"/api/sessions/{session['id']}", method="DELETE")

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no server log)"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """System Chromium for Playwright; skips (or fails in CI) with a reason when missing."""
    path = find_chromium()
    if path is None:
        _skip_or_fail("chromium not found on PATH (Debian/Ubuntu: apt-get install chromium); browser test not run")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _skip_or_fail("playwright not installed (pip install -e '.[dev]'); browser test not run")
    return path


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def _served_tree(root: Path) -> Path:
    """Copy notebooks/ into root (the browser may autosave) and link data/ next to it."""
    nbdir = root / "notebooks"
    src = REPO / "notebooks"
    if src.is_dir():
        shutil.copytree(src, nbdir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    else:
        nbdir.mkdir()
    if (REPO / "data").is_dir():
        (root / "data").symlink_to(REPO / "data", target_is_directory=True)
    return nbdir


def _write_user_settings(settings_dir: Path) -> None:
    for rel, value in USER_SETTINGS.items():
        path = settings_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


def _stop(server: LabServer) -> None:
    """Ask the server to shut down (it stops its kernels); escalate only if it does not."""
    proc = server.process
    if proc.poll() is None:
        try:
            server.request("/api/shutdown", method="POST")
        except OSError:
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)  # our own process group: the server and its kernels
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def lab_server(
    chromium_path: str, tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path
) -> Iterator[LabServer]:
    """JupyterLab on 127.0.0.1:<free port> with a random token, isolated from the user's files."""
    root = tmp_path_factory.mktemp("lab")
    nbdir = _served_tree(root)
    settings_dir = root / "user-settings"
    _write_user_settings(settings_dir)
    token = secrets.token_hex(24)
    port = _free_port()
    env = os.environ.copy()
    env.update(
        JUPYTER_CONFIG_DIR=str(root / "config"),
        JUPYTER_DATA_DIR=str(root / "user-data"),  # env dir (.venv/share/jupyter) still has the kernel
        JUPYTER_RUNTIME_DIR=str(root / "runtime"),
        IPYTHONDIR=str(root / "ipython"),
        JUPYTER_TOKEN=token,  # not on the command line, where `ps` would show it
    )
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the kernel should see what a learner's kernel sees
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={nbdir}",
        f"--LabApp.workspaces_dir={root / 'workspaces'}",
        f"--LabApp.user_settings_dir={settings_dir}",
        # window.jupyterapp: lets the test read output types from the notebook model (an error
        # and a stderr stream render alike); changes nothing a learner sees.
        "--LabApp.expose_app_in_browser=True",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers/CI run as root
        cmd.append("--allow-root")
    log_path = artifacts_dir / "jupyter-server.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed in teardown
    proc = subprocess.Popen(cmd, cwd=nbdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = LabServer(f"http://127.0.0.1:{port}", token, nbdir, log_path, proc)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with code {proc.returncode} before answering:\n{server.log_tail()}")
            try:
                status, _ = server.request("/api/status")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer within {SERVER_START_TIMEOUT_S:.0f} s:\n{server.log_tail()}")
            time.sleep(0.5)
        yield server
    finally:
        _stop(server)
        log.close()


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def page(browser: Any, lab_server: LabServer, request: pytest.FixtureRequest, artifacts_dir: Path) -> Iterator[Any]:
    """A fresh browser page; its console is logged, a screenshot is kept when the test fails, and
    the kernels it started are shut down afterwards."""
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    lines: list[str] = []
    pg.on("console", lambda msg: lines.append(f"[{msg.type}] {msg.text}"))
    pg.on("pageerror", lambda exc: lines.append(f"[pageerror] {exc}"))
    try:
        yield pg
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            try:
                pg.screenshot(path=str(artifacts_dir / f"FAILED-{name}.png"))
            except Exception as exc:  # noqa: BLE001 - a broken page must not hide the real failure
                lines.append(f"[teardown] screenshot failed: {exc}")
        context.close()
        lab_server.shutdown_kernels()
        (artifacts_dir / f"{name}.console.log").write_text("\n".join(lines) + "\n")
