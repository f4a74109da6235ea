"""What a learner sees: the kit's notebooks run in a real JupyterLab, in a real (headless) browser.

nbval checks the kernel side; it cannot see a widget that the front end fails to draw ("Error
displaying widget" when the ipywidgets kernel package and the jupyterlab_widgets extension
disagree) or a slider whose panel never redraws. These tests open the notebooks in JupyterLab,
run all cells from the Run menu, and look at the page:

* no cell shows an error output, no widget shows "Error displaying widget", every widget renders;
* moving the correlation slider with the keyboard really changes what the panel shows;
* the lesson panels (02 shared-bottom, 03 one-gate MoE, 04 the three-architecture comparison and
  MMoE): Train answers at once ("compiling…", then the step and the elapsed time) and ends with
  the learner's own result and a redrawn, sharp figure;
* a checked exercise (01 ``pearson_spearman``), typed into the editor by keyboard: the reference
  solution gets ✔, a typical wrong answer gets ✘ with the mistake named;
* a control notebook with a deliberate exception and a broken widget proves the checks can fail.

Screenshots go to ``tests/browser/artifacts/``. Run: ``make test`` (or
``.venv/bin/python -m pytest tests/browser -rs``).
"""

from __future__ import annotations

import html
import os
import re
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

pytestmark = pytest.mark.browser

RUN_TIMEOUT_S = float(os.environ.get("MMOE_LAB_RUN_TIMEOUT", "420"))  # per notebook, under CPU contention
UPDATE_TIMEOUT_S = 90.0  # a slider callback redraw
WIDGET_ERROR_TEXT = "Error displaying widget"
WIDGET_LOADING_TEXT = "Loading widget..."  # shown forever when the front end cannot find the model
WIDGET_SETTLE_S = 20.0
ACTIVE = ".jp-NotebookPanel:not(.lm-mod-hidden)"
START_TIMEOUT_S = 60.0  # from clicking Run All to the first busy/numbered prompt
KERNEL_DISPLAY_NAME = "Python 3 (mmoe-lab)"
CORRELATION_LABEL = re.compile(r"correl|\bp\b|ρ|rho", re.IGNORECASE)


# --------------------------------------------------------------------------------- helpers ---


def open_notebook(page: Any, server: Any, name: str) -> Any:
    """Open ``name`` in JupyterLab and wait until its kernel is idle; returns the panel locator."""
    assert (server.root_dir / name).is_file(), f"{name} is not in notebooks/"
    page.goto(server.lab_url(name))
    panel = page.locator(ACTIVE)
    panel.wait_for(state="visible", timeout=120_000)
    state = wait_kernel(page, {"idle"}, timeout_s=180)
    assert state["kernel"] == KERNEL_DISPLAY_NAME, f"{name} opened with kernel {state['kernel']!r}"
    return panel


def _panel_state(page: Any) -> dict[str, Any]:
    """Kernel status (from the session, not the toolbar's default-"idle" indicator) and prompts."""
    return page.evaluate(
        """(sel) => {
            const app = window.jupyterapp;
            const w = app ? app.shell.currentWidget : null;
            const sc = w && w.sessionContext;
            const k = sc && sc.session ? sc.session.kernel : null;
            const p = document.querySelector(sel);
            const prompts = p ? [...p.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
                .map(e => e.textContent.trim()) : [];
            const dialog = document.querySelector('.jp-Dialog');
            return {status: k ? k.status : null, connection: k ? k.connectionStatus : null,
                    kernel: sc ? sc.kernelDisplayName : null, prompts,
                    dialog: dialog ? dialog.innerText : null};
        }""",
        ACTIVE,
    )


def wait_kernel(page: Any, statuses: set[str], *, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        state = _panel_state(page)
        if state.get("dialog"):
            pytest.fail(f"JupyterLab shows a dialog instead of a ready kernel: {state['dialog']!r}")
        if state["status"] in statuses and state["connection"] == "connected":
            return state
        if time.monotonic() > deadline:
            pytest.fail(
                f"kernel {state['kernel']!r} is {state['status']!r}/{state['connection']!r} "
                f"after {timeout_s:.0f} s (wanted {sorted(statuses)}/connected)"
            )
        time.sleep(0.5)


def run_menu(page: Any, menu: str, item: str) -> None:
    """Click a top-level menu (e.g. "Run") and then its item labelled ``item``, as a learner does."""
    page.locator(ACTIVE).locator(".jp-Notebook").click(position={"x": 5, "y": 5})
    page.locator(".lm-MenuBar-item", has_text=re.compile(rf"^{menu}$")).click()
    page.locator(
        ".lm-Menu-item:visible", has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{item}$"))
    ).click()


def run_all_cells(page: Any) -> float:
    """Clear outputs, Run → Run All Cells, wait until every code cell ran and the kernel is idle.

    Returns the wall time in seconds. Clearing first makes every prompt ``[ ]`` so the end of the
    run is unambiguous (a fresh kernel numbers cells from 1, like the saved notebook).
    """
    run_menu(page, "Edit", "Clear Outputs of All Cells")
    t0 = time.monotonic()
    run_menu(page, "Run", "Run All Cells")
    deadline = t0 + RUN_TIMEOUT_S
    while True:
        state = _panel_state(page)
        prompts = state["prompts"]
        started = any(re.search(r"[\d*]", p) for p in prompts)
        if started and state["status"] == "idle" and not any("*" in p for p in prompts):
            return time.monotonic() - t0
        if not started and time.monotonic() > t0 + START_TIMEOUT_S:
            pytest.fail(f"Run All Cells did not start within {START_TIMEOUT_S:.0f} s; kernel {state}")
        if time.monotonic() > deadline:
            pytest.fail(f"Run All Cells not finished after {RUN_TIMEOUT_S:.0f} s; prompts {prompts}")
        time.sleep(1.0)


def page_problems(page: Any) -> dict[str, list[str]]:
    """Error outputs, widget errors, stderr text and un-executed code cells in the active notebook.

    Errors and un-executed cells are read from the notebook model (``output_type == "error"``: on
    the page a traceback and a stderr stream look alike; a cell with hidden input shows no prompt);
    widget errors and stderr from what the page shows.
    """
    return page.evaluate(
        """([sel, widgetErr, widgetLoading]) => {
            const p = document.querySelector(sel);
            const model = window.jupyterapp.shell.currentWidget.content.model;
            const errors = [];
            for (const cell of model.cells) {
                if (cell.type !== 'code') continue;
                for (const out of cell.toJSON().outputs) {
                    if (out.output_type === 'error') errors.push(`${out.ename}: ${out.evalue}`);
                }
            }
            const widgetErrors = [...p.querySelectorAll('.jp-OutputArea-output')]
                .filter(e => e.innerText.includes(widgetErr) || e.innerText.includes(widgetLoading)
                             || e.querySelector('.jupyter-widgets-error-widget'))
                .map(e => e.querySelector('.jupyter-widgets-error-widget')
                          ? 'widget error view: ' + e.innerText.trim().slice(0, 200)
                          : e.innerText.trim().slice(0, 300));
            // from the model: a cell whose input is hidden (jupyter.source_hidden) has no editor on the page
            const notRun = [...model.cells]
                .filter(c => c.type === 'code' && c.sharedModel.getSource().trim() !== ''
                             && c.toJSON().execution_count == null)
                .map(c => `[ ]: ${c.sharedModel.getSource().trim().slice(0, 80)}`);
            const stderr = [...p.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
                .map(e => e.innerText.slice(0, 300));
            return {errors, widgetErrors, notRun, stderr};
        }""",
        [ACTIVE, WIDGET_ERROR_TEXT, WIDGET_LOADING_TEXT],
    )


def settle_widgets(page: Any) -> None:
    """Give widget views a moment to leave "Loading widget..." (a view that never does is an error)."""
    loading = page.locator(f"{ACTIVE} .jp-OutputArea-output", has_text=WIDGET_LOADING_TEXT)
    deadline = time.monotonic() + WIDGET_SETTLE_S
    while loading.count() and time.monotonic() < deadline:
        time.sleep(0.5)


def count_widget_views(page: Any) -> int:
    """Rendered widget views (a missing front-end extension leaves only their text/plain repr)."""
    return page.locator(
        f"{ACTIVE} .jp-OutputArea-output .jupyter-widgets:not(:has(.jupyter-widgets-error-widget))"
    ).count()


def find_slider(page: Any, label: re.Pattern[str], cell_text: str | None = None) -> tuple[Any, Any]:
    """(cell, slider): the first rendered slider whose description matches ``label`` (in a cell
    whose text contains ``cell_text``, if given)."""
    cells = page.locator(f"{ACTIVE} .jp-CodeCell").filter(has=page.locator(".widget-slider"))
    if cell_text is not None:
        cells = cells.filter(has_text=cell_text)
    seen = []
    for c in range(cells.count()):
        sliders = cells.nth(c).locator(".widget-slider")
        for i in range(sliders.count()):
            # JupyterLab 4 renders off-screen cells lazily (their text reads as ''): scroll first,
            # and read the DOM text rather than the rendered text
            sliders.nth(i).scroll_into_view_if_needed()
            text = (sliders.nth(i).locator(".widget-label").first.text_content() or "").strip()
            seen.append(text)
            if label.search(text):
                return cells.nth(c), sliders.nth(i)
    pytest.fail(f"no slider labelled {label.pattern!r}; slider labels: {seen}")


def panel_view(cell: Any) -> tuple[str, tuple[str, ...]]:
    """What a panel shows besides its controls: the text of its Output and HTML widgets (status
    lines, printed coefficients) and the sources of its images (figures)."""
    text, imgs = cell.evaluate(
        """(c) => {
            const area = c.querySelector('.jp-Cell-outputWrapper') || c;
            const text = [...area.querySelectorAll('.widget-output, .widget-html-content')]
                .map(e => e.innerText.trim()).filter(t => t).join('\\n');
            const imgs = [...area.querySelectorAll('img')].map(e => e.src);
            return [text, imgs];
        }"""
    )
    return text, tuple(imgs)


def assert_images_not_upscaled(cell: Any, what: str, limit: float = 1.1) -> list[tuple[int, float]]:
    """Every image in the cell's outputs is shown with at most ``limit`` screen pixels per image
    pixel (``naturalWidth`` against the rendered width × devicePixelRatio): not blurred by
    stretching. Returns ``(naturalWidth, ratio)`` per image."""
    sizes = cell.evaluate(
        """(c) => [...(c.querySelector('.jp-Cell-outputWrapper') || c).querySelectorAll('img')]
            .filter(e => e.naturalWidth > 0)
            .map(e => [e.naturalWidth, e.getBoundingClientRect().width * window.devicePixelRatio / e.naturalWidth])"""
    )
    assert sizes, f"{what}: no image shown"
    for natural, ratio in sizes:
        assert ratio <= limit, f"{what}: a {natural}-px image is shown at {ratio:.2f}x (limit {limit}x): blurry"
    return [(int(n), float(r)) for n, r in sizes]


def assert_images_not_shrunk(cell: Any, what: str, limit: float = 0.95) -> None:
    """Every panel figure is shown at no less than ``limit`` of the width it asks for (its
    ``width`` attribute): a figure wider than the notebook gets squeezed, and its legend with it."""
    sizes = cell.evaluate(
        """(c) => [...(c.querySelector('.jp-Cell-outputWrapper') || c).querySelectorAll('img[width]')]
            .map(e => [parseFloat(e.getAttribute('width')), e.getBoundingClientRect().width])"""
    )
    for wanted, shown in sizes:
        assert shown >= limit * wanted, f"{what}: a figure asks for {wanted:.0f} px and is squeezed to {shown:.0f} px"


def wait_images(locator: Any) -> None:
    """Wait until every image inside ``locator`` has loaded (before a screenshot)."""
    locator.locator("img").evaluate_all(
        "els => Promise.all(els.map(e => e.complete ? null : new Promise(r => { e.onload = e.onerror = r; })))"
    )


def nudge_slider(page: Any, slider: Any, key: str) -> str:
    """Focus the slider handle, press ``key``; return the new readout once it changed."""
    readout = slider.locator(".widget-readout")
    before = readout.inner_text()
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    page.keyboard.press(key)
    deadline = time.monotonic() + 10
    while readout.inner_text() == before:
        if time.monotonic() > deadline:
            pytest.fail(f"slider readout stayed {before!r} after pressing {key}")
        time.sleep(0.1)
    return readout.inner_text()


def wait_panel_change(
    cell: Any, before: tuple[str, tuple[str, ...]], what: str, timeout_s: float = UPDATE_TIMEOUT_S
) -> tuple[str, tuple[str, ...]]:
    """Wait until the panel's view differs from ``before`` and then holds still for 2 s."""
    deadline = time.monotonic() + timeout_s
    last, since = None, 0.0
    while True:
        now = panel_view(cell)
        if now != before and (now[0] or now[1]):
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= 2.0:
                return now
        if time.monotonic() > deadline:
            pytest.fail(f"the panel did not redraw (and settle) within {timeout_s:.0f} s after {what}")
        time.sleep(0.25)


def shot(page: Any, artifacts: Path, name: str, locator: Any | None = None) -> None:
    path = str(artifacts / f"{name}.png")
    if locator is None:
        page.screenshot(path=path)
    else:
        locator.scroll_into_view_if_needed()
        wait_images(locator)
        locator.screenshot(path=path)


def assert_clean_run(page: Any, name: str) -> dict[str, list[str]]:
    settle_widgets(page)
    problems = page_problems(page)
    assert not problems["errors"], f"{name}: cells show error outputs:\n" + "\n---\n".join(problems["errors"])
    assert not problems["widgetErrors"], f"{name}: {WIDGET_ERROR_TEXT}:\n" + "\n".join(problems["widgetErrors"])
    assert not problems["notRun"], f"{name}: code cells not executed: {problems['notRun']}"
    return problems


def exercise_slider(page: Any, artifacts: Path, stem: str, label: re.Pattern[str]) -> dict[str, Any]:
    """Move the slider right then left with the keyboard; each move must redraw its panel.

    Returns the readouts (``start``, ``right``, ``left``) and the panel views (``views``: the
    same three moments, each (text, image sources)).
    """
    cell, slider = find_slider(page, label)
    outputs = cell.locator(".jp-Cell-outputWrapper")
    start_view = panel_view(cell)
    start = slider.locator(".widget-readout").inner_text()
    shot(page, artifacts, f"{stem}-slider-before", outputs)
    right = nudge_slider(page, slider, "ArrowRight")
    right_view = wait_panel_change(cell, start_view, f"ArrowRight ({start} -> {right})")
    shot(page, artifacts, f"{stem}-slider-after", outputs)
    left = nudge_slider(page, slider, "ArrowLeft")
    left_view = wait_panel_change(cell, right_view, f"ArrowLeft ({right} -> {left})")
    assert left == start, f"ArrowRight then ArrowLeft should return the slider to {start!r}, got {left!r}"
    return {"start": start, "right": right, "left": left, "views": (start_view, right_view, left_view), "cell": cell}


# -------------------------------------------------------------------- temporary notebooks ---


def _notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (mmoe-lab)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


SLIDER_NOTEBOOK = _notebook(
    "import ipywidgets as widgets\nimport matplotlib.pyplot as plt\nimport numpy as np\n%matplotlib inline",
    "def show(p):\n"
    "    x = np.linspace(-1, 1, 50)\n"
    "    print(f'coefficient r = {p ** 2:.2f}')\n"
    "    plt.plot(x, p * x)\n"
    "    plt.ylim(-1, 1)\n"
    "    plt.show()\n"
    "\n"
    "p = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.1, description='correlation p',\n"
    "                        continuous_update=False)\n"
    "out = widgets.interactive_output(show, {'p': p})\n"
    "display(widgets.VBox([p, out]))",
)

BROKEN_NOTEBOOK = _notebook(
    "import ipywidgets as widgets\nwidgets.IntSlider(description='fine')",
    "# a widget whose view the front end does not have (the ipywidgets/extension mismatch case)\n"
    "from traitlets import Unicode\n"
    "class Missing(widgets.DOMWidget):\n"
    "    _view_name = Unicode('MissingView').tag(sync=True)\n"
    "    _view_module = Unicode('mmoe-lab-no-such-extension').tag(sync=True)\n"
    "    _view_module_version = Unicode('1.0.0').tag(sync=True)\n"
    "Missing()",
    "# a widget view whose model does not exist: the front end must say so\n"
    "display({'application/vnd.jupyter.widget-view+json':\n"
    "         {'model_id': '0123456789abcdef', 'version_major': 2, 'version_minor': 0}}, raw=True)",
    "raise ValueError('deliberate failure')",
    "print('never runs')",
)


# ------------------------------------------------------------------------------- the tests ---


def test_server_requires_token(lab_server: Any) -> None:
    status, _ = lab_server.request("/api/contents", auth=False)
    assert status in (401, 403), f"the server answered {status} without a token: authentication is off"
    status, _ = lab_server.request("/api/contents")
    assert status == 200
    status, body = lab_server.request("/api/kernelspecs")
    assert b"mmoe-lab" in body, "the project's kernel 'Python 3 (mmoe-lab)' is not visible to JupyterLab"


def test_checks_catch_errors(lab_server: Any, page: Any, artifacts_dir: Path) -> None:
    """Control: a notebook with an exception and a broken widget must be flagged by the checks."""
    nbformat.write(BROKEN_NOTEBOOK, lab_server.root_dir / "_control_broken.ipynb")
    open_notebook(page, lab_server, "_control_broken.ipynb")
    run_all_cells(page)
    settle_widgets(page)
    problems = page_problems(page)
    shot(page, artifacts_dir, "control-broken")
    assert problems["errors"] == ["ValueError: deliberate failure"], problems
    assert len(problems["widgetErrors"]) == 2, problems
    assert problems["widgetErrors"][0].startswith("widget error view:"), problems
    assert WIDGET_ERROR_TEXT in problems["widgetErrors"][1] or WIDGET_LOADING_TEXT in problems["widgetErrors"][1]
    assert problems["notRun"] == ["[ ]: print('never runs')"], problems
    assert count_widget_views(page) == 1  # the good IntSlider rendered


def test_slider_panel_redraws(lab_server: Any, page: Any, artifacts_dir: Path) -> None:
    """Control: a minimal interactive_output panel redraws when its slider moves."""
    nbformat.write(SLIDER_NOTEBOOK, lab_server.root_dir / "_control_slider.ipynb")
    open_notebook(page, lab_server, "_control_slider.ipynb")
    run_all_cells(page)
    assert_clean_run(page, "_control_slider")
    moved = exercise_slider(page, artifacts_dir, "control-slider", CORRELATION_LABEL)
    assert (moved["start"], moved["right"], moved["left"]) == ("0.50", "0.60", "0.50")
    texts = [view[0] for view in moved["views"]]
    assert texts == ["coefficient r = 0.25", "coefficient r = 0.36", "coefficient r = 0.25"], texts
    start_img, right_img, left_img = (view[1] for view in moved["views"])
    assert start_img != right_img and start_img == left_img  # inline PNGs: same figure, same bytes


# ------------------------------------------------------------------- the kit's notebooks ---


def run_kit_notebook(page: Any, server: Any, artifacts: Path, name: str) -> float:
    """Open a kit notebook, Run All, check that nothing failed and its widgets rendered."""
    open_notebook(page, server, name)
    seconds = run_all_cells(page)
    stem = Path(name).stem
    problems = assert_clean_run(page, stem)
    n_views = count_widget_views(page)
    shot(page, artifacts, f"{stem}-after-run-all")
    assert n_views > 0, f"{stem}: no widget rendered (is the jupyterlab_widgets extension missing?)"
    print(
        f"{stem}: Run All took {seconds:.0f} s in the browser; {n_views} widget views; "
        f"stderr outputs: {len(problems['stderr'])}"
    )
    return seconds


def test_01_task_correlation(lab_server: Any, page: Any, artifacts_dir: Path) -> None:
    """01 runs clean; the correlation slider, moved by keyboard, changes the coefficients and the scatter."""
    run_kit_notebook(page, lab_server, artifacts_dir, "01_task_correlation.ipynb")
    moved = exercise_slider(page, artifacts_dir, "01_task_correlation", CORRELATION_LABEL)
    (start_text, start_img), (right_text, right_img), (left_text, _) = moved["views"]
    assert re.search(r"Pearson r = -?\d", start_text), start_text
    assert right_text != start_text, f"the coefficients did not change: {right_text!r}"
    assert right_img != start_img, "the scatter plot was not redrawn"
    assert left_text == start_text, "back at the start value, the coefficients should read as before"
    wait_images(moved["cell"].locator(".jp-Cell-outputWrapper"))
    scales = assert_images_not_upscaled(moved["cell"], "01 correlation panel")
    print(f"01 slider: p {moved['start']} -> {moved['right']}: {start_text!r} -> {right_text!r}; images: {scales}")


TRAIN_TIMEOUT_S = float(os.environ.get("MMOE_LAB_TRAIN_TIMEOUT", "600"))  # one live fit, shared cores
ANSWER_TIMEOUT_S = 10.0  # from clicking Train to the panel's first answer (bar reset, "compiling…"), loaded machine
P_SLIDER = re.compile(r"^p$")  # the lesson panels' p slider (not the comparison panel's "stored p")
STEP_LABEL = re.compile(r"step [\d,]+/[\d,]+")  # "… · step 1,200/24,000 · 14 s elapsed"
ELAPSED_LABEL = re.compile(r"step [\d,]+/[\d,]+ · \d+ s elapsed")
DONE_LABEL = re.compile(r"^done: [\d,]+ steps in \d+ s$")


# ------------------------------------------------------------------ a checked exercise ---

EXERCISE = "pearson_spearman"
# A learner's typical mistake: Spearman taken as the Pearson correlation of the labels, not of their ranks.
WRONG_SPEARMAN = (
    "import numpy as np\n\n\ndef pearson_spearman(y1, y2):\n    r = np.corrcoef(y1, y2)[0, 1]\n    return r, r\n"
)
WRONG_SPEARMAN_MISTAKE = "your Spearman equals your Pearson"


def code_cell(page: Any, text: str) -> Any:
    """The first code cell of the active notebook whose source contains ``text``, scrolled into view."""
    index = page.evaluate(
        """async (text) => {
            const nb = window.jupyterapp.shell.currentWidget.content;
            const i = nb.widgets.findIndex(c => c.model.type === 'code' && c.model.sharedModel.getSource().includes(text));
            if (i >= 0) await nb.scrollToItem(i, 'center');
            return i;
        }""",
        text,
    )
    assert index >= 0, f"no code cell contains {text!r}"
    cell = page.locator(f'{ACTIVE} .jp-CodeCell[data-windowed-list-index="{index}"]')
    cell.wait_for(state="visible")
    return cell


def cell_source(page: Any, cell: Any) -> str:
    return cell.evaluate(
        """(c) => {
            const nb = window.jupyterapp.shell.currentWidget.content;
            return nb.widgets[Number(c.dataset.windowedListIndex)].model.sharedModel.getSource();
        }"""
    )


def type_into_cell(page: Any, cell: Any, source: str) -> None:
    """Replace the cell's code by keyboard, as a learner does: click into it, select all, delete, type.

    Typed line by line: after Enter the editor indents the new line by itself, so each line
    first selects that automatic indentation (Shift+Home) and deletes it, then types the line
    with its own indentation. The editor must then hold exactly ``source``.
    """
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    for i, line in enumerate(source.split("\n")):
        if i:
            page.keyboard.press("Enter")
        page.keyboard.press("Shift+Home")
        page.keyboard.press("Delete")
        if line:
            page.keyboard.type(line)
    got = cell_source(page, cell)
    assert got == source, f"the editor holds something else than what was typed:\n{got}"


def run_cell(page: Any, cell: Any) -> list[str]:
    """Click into the cell and press Shift+Enter; wait for its new execution count and an idle
    kernel; return the texts of its outputs."""
    prompt = cell.locator(".jp-InputArea-prompt")
    before = prompt.text_content()
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        now = (prompt.text_content() or "").strip()
        if now != before and re.fullmatch(r"\[\d+\]:", now) and _panel_state(page)["status"] == "idle":
            break
        if time.monotonic() > deadline:
            pytest.fail(f"the cell did not finish within {RUN_TIMEOUT_S:.0f} s (prompt {now!r})")
        time.sleep(0.25)
    return cell.locator(".jp-OutputArea-output").all_inner_texts()


def shot_cells(page: Any, artifacts: Path, name: str, first: Any, last: Any) -> None:
    """Screenshot of the page from the top of ``first`` to the bottom of ``last`` (adjacent cells)."""
    first.scroll_into_view_if_needed()
    a, b = first.bounding_box(), last.bounding_box()
    assert a and b, "a cell to photograph is not on the page"
    top, bottom = min(a["y"], b["y"]), max(a["y"] + a["height"], b["y"] + b["height"])
    left, right = min(a["x"], b["x"]), max(a["x"] + a["width"], b["x"] + b["width"])
    page.screenshot(
        path=str(artifacts / f"{name}.png"),
        clip={
            "x": left,
            "y": max(top, 0),
            "width": right - left,
            "height": min(bottom, page.viewport_size["height"]) - max(top, 0),
        },
    )


def test_01_exercise_in_the_editor(lab_server: Any, page: Any, artifacts_dir: Path) -> None:
    """In 01, a learner types the reference solution of ``pearson_spearman`` into the exercise
    cell, runs it and its check: the check passes (✔). Then they type a known wrong answer
    (Spearman without ranks): the check fails (✘) and names that mistake."""
    from mmoe_lab import exercises

    ex = exercises.get(EXERCISE)
    open_notebook(page, lab_server, "01_task_correlation.ipynb")
    run_menu(page, "Edit", "Clear Outputs of All Cells")
    setup = code_cell(page, "mmoe_lab.setup_notebook()")
    assert "exercises" in cell_source(page, setup), "01's first code cell does not import `exercises`"
    run_cell(page, setup)
    answer = code_cell(page, f"def {EXERCISE}(")
    check = code_cell(page, ex.check_source())

    run_cell(page, answer)
    out = run_cell(page, check)
    assert len(out) == 1 and out[0].startswith(f"… {EXERCISE}: not attempted yet —"), out

    type_into_cell(page, answer, ex.solution_source())
    run_cell(page, answer)
    out = run_cell(page, check)
    shot_cells(page, artifacts_dir, "01-exercise-passed", answer, check)
    assert len(out) == 1 and out[0].startswith(f"✔ {EXERCISE}:"), f"the reference solution did not pass: {out}"

    type_into_cell(page, answer, WRONG_SPEARMAN)
    run_cell(page, answer)
    out = run_cell(page, check)
    shot_cells(page, artifacts_dir, "01-exercise-mistake", answer, check)
    namespace: dict[str, Any] = {}
    exec(WRONG_SPEARMAN, namespace)  # the same answer, checked here: the page must show its message
    result = ex.check(namespace[EXERCISE])
    assert WRONG_SPEARMAN_MISTAKE in str(result), f"the check no longer names this mistake: {result}"
    # the page shows the result's HTML: *emphasis* in italics and `code` as code, without the marks
    expected = html.unescape(re.sub(r"<[^>]+>", "", result._repr_html_()))
    assert "*" not in expected, f"an emphasis mark is shown literally: {expected!r}"
    assert out == [expected], f"the page shows {out!r}, expected {expected!r}"
    problems = page_problems(page)
    assert not problems["errors"], problems["errors"]
    print(f"01 exercise: ✔ after typing the solution; then {out[0]!r}")


# ------------------------------------------------------------------- the lesson panels ---


def progress_row(cell: Any) -> dict[str, Any]:
    """The panel's progress row as shown: the label beside the bar, the bar's fill (0–1), and
    whether the Train button is disabled (it is while a run is in progress)."""
    return cell.evaluate(
        """(c) => {
            const prog = c.querySelector('.widget-hprogress');
            const row = prog ? prog.parentElement : null;
            const label = row ? [...row.children].filter(e => e !== prog).map(e => e.innerText.trim()).join(' ') : null;
            const bar = prog ? prog.querySelector('.progress-bar') : null;
            const track = bar ? bar.parentElement.getBoundingClientRect() : null;
            const fill = bar && track && track.width > 0 ? bar.getBoundingClientRect().width / track.width : null;
            const button = [...c.querySelectorAll('button')].find(b => b.innerText.trim() === 'Train');
            return {label, fill, busy: button ? button.disabled : null};
        }"""
    )


def press_train(page: Any, cell: Any, artifacts: Path, stem: str) -> dict[str, Any]:
    """Press Train and watch the progress row as a learner would.

    The panel must answer at once (within ``ANSWER_TIMEOUT_S``): the bar reset and "compiling…",
    or already a step. While it trains the label must name the step and the elapsed time; at
    the end (the button enabled again) the label says "done: N steps in t s". Returns the
    labels seen (in order, without repeats), the seconds to the first answer and to the end.
    """
    before = progress_row(cell)
    assert before["label"] is not None and before["busy"] is False, f"{stem}: no progress row / Train: {before}"
    t0 = time.monotonic()
    cell.get_by_role("button", name="Train").click()
    seen: list[str] = []
    answered = None
    shot_taken = busy_seen = False
    while True:
        row = progress_row(cell)
        now = time.monotonic() - t0
        if row["label"] != (seen[-1] if seen else before["label"]):
            seen.append(row["label"])
        if answered is None and row["label"] != before["label"]:
            answered = now
            assert row["label"] == "compiling…" or STEP_LABEL.search(row["label"]), (
                f"{stem}: the first answer to Train is {row['label']!r} (expected 'compiling…' or a step)"
            )
            if row["label"] == "compiling…":
                assert row["fill"] is not None and row["fill"] < 0.05, (
                    f"{stem}: 'compiling…' with the bar at {row['fill']:.0%}"
                )
        if answered is None and now > ANSWER_TIMEOUT_S:
            pytest.fail(f"{stem}: {ANSWER_TIMEOUT_S:.0f} s after Train the progress row still reads {row['label']!r}")
        if not shot_taken and row["label"] and ELAPSED_LABEL.search(row["label"]):
            shot(page, artifacts, f"{stem}-training", cell.locator(".jp-Cell-outputWrapper"))
            shot_taken = True
        busy_seen = busy_seen or bool(row["busy"])
        if answered is not None and busy_seen and row["busy"] is False:
            break
        if now > TRAIN_TIMEOUT_S:
            pytest.fail(f"{stem}: Train not done after {TRAIN_TIMEOUT_S:.0f} s; labels seen: {seen[-5:]}")
        time.sleep(0.25)
    assert any(ELAPSED_LABEL.search(x) for x in seen), f"{stem}: no 'step k/N · t s elapsed' while training: {seen[:8]}"
    assert DONE_LABEL.match(seen[-1]), (
        f"{stem}: after the run the progress row reads {seen[-1]!r}, not 'done: N steps in t s'"
    )
    return {"labels": seen, "answer_s": answered, "total_s": time.monotonic() - t0}


def summarise_labels(labels: list[str]) -> str:
    steps = [x for x in labels if STEP_LABEL.search(x)]
    shown = labels[:2] + (["…", steps[-1]] if steps else []) + labels[-1:]
    return " → ".join(dict.fromkeys(shown))


def drive_lesson_panel(page: Any, artifacts: Path, stem: str, cell_text: str) -> dict[str, Any]:
    """Move a lesson panel's p one step right (the figure must stay, the status must announce
    Train), press Train and wait for the run; returns the views and what the progress row showed."""
    cell, slider = find_slider(page, P_SLIDER, cell_text=cell_text)
    outputs = cell.locator(".jp-Cell-outputWrapper")
    start_view = panel_view(cell)
    assert start_view[1], f"{stem}: the panel shows no figure before training"
    wait_images(outputs)
    assert_images_not_upscaled(cell, f"{stem} before Train")
    assert_images_not_shrunk(cell, f"{stem} before Train")
    shot(page, artifacts, f"{stem}-before", outputs)
    start = slider.locator(".widget-readout").inner_text()
    right = nudge_slider(page, slider, "ArrowRight")
    moved = wait_panel_change(cell, start_view, f"ArrowRight ({start} -> {right})")
    p = float(right)
    assert f"p = {p:g}" in moved[0] and "Train" in moved[0], f"{stem}: moving p should announce Train: {moved[0]!r}"
    idle = progress_row(cell)["label"] or ""
    assert idle.startswith("press Train"), f"{stem}: moving p alone must not train (progress row: {idle!r})"
    watched = press_train(page, cell, artifacts, stem)
    after = (
        wait_panel_change(cell, moved, "Train", timeout_s=UPDATE_TIMEOUT_S)
        if panel_view(cell) == moved
        else panel_view(cell)
    )
    assert after[1] != moved[1], f"{stem}: Train did not redraw the figure"
    wait_images(outputs)
    scales = assert_images_not_upscaled(cell, f"{stem} after Train")
    assert_images_not_shrunk(cell, f"{stem} after Train")
    shot(page, artifacts, f"{stem}-after-train", outputs)
    return {"cell": cell, "p": p, "start": start_view, "moved": moved, "after": after, "scales": scales, **watched}


@pytest.mark.parametrize(
    ("notebook", "cell_text", "arch"),
    [
        ("02_shared_bottom.ipynb", "shared_bottom_p_panel(", "shared-bottom"),
        ("03_one_gate_moe.ipynb", "one_gate_panel(", "one-gate MoE"),
    ],
    ids=["02", "03"],
)
def test_lesson_panel(
    lab_server: Any, page: Any, artifacts_dir: Path, notebook: str, cell_text: str, arch: str
) -> None:
    """02 and 03 run clean; each one's single-architecture panel opens on the stored band, moving
    p announces Train, Train answers at once ("compiling…", then steps with the elapsed time) and
    ends with a sentence that reads where your 8-seed mean fell on the band, and a sharp figure."""
    run_kit_notebook(page, lab_server, artifacts_dir, notebook)
    nb = notebook[:2]
    cell = page.locator(f"{ACTIVE} .jp-CodeCell", has_text=cell_text).first
    cell.scroll_into_view_if_needed()
    opening = panel_view(cell)[0]
    assert "stored study" in opening and arch in opening, (
        f"{nb}: the panel does not open on the stored band: {opening!r}"
    )
    run = drive_lesson_panel(page, artifacts_dir, f"{nb}-{cell_text.rstrip('(')}", cell_text)
    status = run["after"][0]
    assert re.search(
        rf"At p = {run['p']:g} your \d+-seed mean for {re.escape(arch)} is \d\.\d{{3}}: "
        r"(inside|above|below) the band",
        status,
    ), f"{nb}: no reading of your run on the band: {status!r}"
    assert_clean_run(page, f"{Path(notebook).stem} (after Train)")
    print(
        f"{nb} {cell_text.rstrip('(')} after Train at p = {run['p']:g} (first answer after {run['answer_s']:.1f} s, "
        f"done after {run['total_s']:.0f} s): {status!r}; progress: {summarise_labels(run['labels'])}; "
        f"images: {run['scales']}"
    )


def test_04_mmoe(lab_server: Any, page: Any, artifacts_dir: Path) -> None:
    """04 runs clean. Its MMoE panel: the p slider (keyboard) updates the status, Train redraws
    the heatmaps. Its comparison panel (the only one, after all three architectures are taught):
    moving p announces Train, Train answers at once ("compiling…", then steps with the elapsed
    time), and ends with your live run's result and a redrawn, sharp figure with your point."""
    run_kit_notebook(page, lab_server, artifacts_dir, "04_mmoe.ipynb")
    heatmaps = page.locator(f"{ACTIVE} .jp-CodeCell", has_text="plot_gate_heatmaps").first
    if heatmaps.count():
        shot(page, artifacts_dir, "04_mmoe-gate-heatmaps", heatmaps)

    # -- the MMoE panel
    cell, slider = find_slider(page, P_SLIDER, cell_text="mmoe_panel(")
    outputs = cell.locator(".jp-Cell-outputWrapper")
    start_view = panel_view(cell)
    assert start_view[1], "the MMoE panel shows no figure before training (expected the initial gate heatmaps)"
    shot(page, artifacts_dir, "04_mmoe-panel-before", outputs)
    start = slider.locator(".widget-readout").inner_text()
    right = nudge_slider(page, slider, "ArrowRight")
    moved_view = wait_panel_change(cell, start_view, f"ArrowRight ({start} -> {right})")
    assert f"p = {float(right):g}" in moved_view[0], f"the status line does not show the new p: {moved_view[0]!r}"
    assert moved_view[1] == start_view[1], "moving p alone must not retrain (the figure changed)"
    cell.get_by_role("button", name="Train").click()
    trained_view = wait_panel_change(cell, moved_view, "pressing Train", timeout_s=TRAIN_TIMEOUT_S)
    deadline = time.monotonic() + TRAIN_TIMEOUT_S
    while "test MSE" not in trained_view[0] or trained_view[1] == start_view[1]:
        if time.monotonic() > deadline:
            pytest.fail(f"Train did not finish with a new figure and a test MSE: {trained_view[0]!r}")
        trained_view = wait_panel_change(cell, trained_view, "training", timeout_s=TRAIN_TIMEOUT_S)
    shot(page, artifacts_dir, "04_mmoe-panel-after-train", outputs)
    wait_images(outputs)
    scales = assert_images_not_upscaled(cell, "04 MMoE panel after Train")
    print(f"04 MMoE panel after Train at p = {right}: {trained_view[0]!r}; images (natural px, scale): {scales}")

    # -- the comparison panel: three architectures, MMoE's lead against p
    cell = page.locator(f"{ACTIVE} .jp-CodeCell", has_text="comparison_panel(").first
    scrubs = cell.locator(".widget-slider", has_text="stored p")
    if scrubs.count():  # the stored-study scrubber redraws at once, without training
        before = panel_view(cell)
        nudge_slider(page, scrubs.first, "ArrowRight")
        scrubbed = wait_panel_change(cell, before, "moving stored p")
        assert scrubbed[1] != before[1], "the stored-p scrubber did not redraw the figure"
    run = drive_lesson_panel(page, artifacts_dir, "04-comparison-panel", "comparison_panel(")
    status = run["after"][0]
    assert re.search(rf"\byour\b.*p = {run['p']:g}|p = {run['p']:g}.*\byour\b", status, re.S), (
        f"the comparison panel does not show your live run at p = {run['p']:g}: {status!r}"
    )
    for arch in ("shared-bottom", "one-gate MoE", "MMoE"):
        assert re.search(rf"{re.escape(arch)} \d\.\d{{3}}", status), f"no live {arch} loss in {status!r}"
    assert_clean_run(page, "04_mmoe (after both Trains)")
    print(
        f"04 comparison panel after Train at p = {run['p']:g} (first answer after {run['answer_s']:.1f} s, "
        f"done after {run['total_s']:.0f} s): {status!r}; progress: {summarise_labels(run['labels'])}; "
        f"images: {run['scales']}"
    )


def test_05_study_panel(lab_server: Any, page: Any, artifacts_dir: Path) -> None:
    """05 runs clean; its study panel's figure is shown sharp (not stretched)."""
    run_kit_notebook(page, lab_server, artifacts_dir, "05_correlation_sweep.ipynb")
    cell = page.locator(f"{ACTIVE} .jp-CodeCell", has_text="study_panel(").first
    outputs = cell.locator(".jp-Cell-outputWrapper")
    outputs.scroll_into_view_if_needed()
    wait_images(outputs)
    scales = assert_images_not_upscaled(cell, "05 study panel")
    shot(page, artifacts_dir, "05-study-panel", outputs)
    print(f"05 study panel: images (natural px, scale): {scales}")


def test_06_gate_collapse_panel(lab_server: Any, page: Any, artifacts_dir: Path) -> None:
    """06 runs clean; in the collapse panel, moving the strength only announces the next run, Train
    retrains and redraws the diagnostics; the figure is sharp before and after."""
    run_kit_notebook(page, lab_server, artifacts_dir, "06_gate_collapse.ipynb")
    cell, slider = find_slider(page, re.compile(r"strength"), cell_text="gate_collapse_panel(")
    outputs = cell.locator(".jp-Cell-outputWrapper")
    start_view = panel_view(cell)
    assert start_view[1], "the collapse panel shows no figure before training (expected the stored run)"
    wait_images(outputs)
    assert_images_not_upscaled(cell, "06 collapse panel")
    shot(page, artifacts_dir, "06-collapse-panel-before", outputs)
    start = slider.locator(".widget-readout").inner_text()
    left = nudge_slider(page, slider, "ArrowLeft")
    moved = wait_panel_change(cell, start_view, f"ArrowLeft ({start} -> {left})")
    assert "next run" in moved[0] and moved[1] == start_view[1], f"moving strength must only announce: {moved[0]!r}"
    cell.get_by_role("button", name="Train").click()
    deadline = time.monotonic() + TRAIN_TIMEOUT_S
    view = moved
    while view[1] == moved[1] or "training" in view[0]:
        if time.monotonic() > deadline:
            pytest.fail(f"Train did not finish with a new figure: {view[0]!r}")
        view = wait_panel_change(cell, view, "training", timeout_s=TRAIN_TIMEOUT_S)
    assert "polarisation" in view[0], view[0]
    wait_images(outputs)
    scales = assert_images_not_upscaled(cell, "06 collapse panel after Train")
    assert_images_not_shrunk(cell, "06 collapse panel after Train")
    shot(page, artifacts_dir, "06-collapse-panel-after-train", outputs)
    assert_clean_run(page, "06_gate_collapse (after Train)")
    print(f"06 collapse panel after Train at strength {left}: {view[0]!r}; images: {scales}")
