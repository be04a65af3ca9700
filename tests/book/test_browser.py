"""The website in a real browser, with the network unreachable.

Headless Debian chromium, driven by Playwright: the PyTorch | TensorFlow tabs switch
the cells, the choice is remembered on the next page, the tabs follow the ARIA tab
pattern, and MathJax (served from the build, not a CDN) typesets displayed equations.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Every host name fails to resolve: the page must not need the network.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
FIRST_PAGE = "chapters/00_getting_started.html"
SECOND_PAGE = "book/notation.html"


@pytest.fixture
def page(book_server, chromium_path, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "profile"),  # a fresh profile every test
            executable_path=chromium_path,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        blocked: list[str] = []

        def only_localhost(route):
            if route.request.url.startswith(book_server):
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        context.route("**/*", only_localhost)
        page = context.new_page()
        page.blocked_requests = blocked
        yield page
        context.close()


def _visible(page, selector: str) -> bool:
    return page.locator(selector).first.is_visible()


def test_tabs_switch_and_are_remembered(page, book_server):
    page.goto(f"{book_server}/{FIRST_PAGE}")
    tablist = page.locator(".fw-tabset [role=tablist]").first
    tablist.wait_for()
    tabs = tablist.locator("[role=tab]")
    assert tabs.count() == 2
    assert tabs.nth(0).inner_text() == "PyTorch"
    # PyTorch is the default: its cell shows, the TensorFlow cell is hidden.
    assert _visible(page, ".fw-tabset .cell.tag_pytorch")
    assert not _visible(page, ".fw-tabset .cell.tag_tensorflow")

    page.locator(".fw-tabset [role=tab][data-framework=tensorflow]").first.click()
    assert _visible(page, ".fw-tabset .cell.tag_tensorflow")
    assert not _visible(page, ".fw-tabset .cell.tag_pytorch")
    tf_tab = page.locator(".fw-tabset [role=tab][data-framework=tensorflow]").first
    assert tf_tab.get_attribute("aria-selected") == "true"
    assert tf_tab.evaluate("el => el.tagName") == "BUTTON"

    # Another page, then back: the choice is remembered (localStorage).
    page.goto(f"{book_server}/{SECOND_PAGE}")
    assert page.evaluate("document.documentElement.dataset.framework || null") in (
        None,
        "tensorflow",
    )
    page.goto(f"{book_server}/{FIRST_PAGE}")
    page.locator(".fw-tabset").first.wait_for()
    assert _visible(page, ".fw-tabset .cell.tag_tensorflow")
    assert not _visible(page, ".fw-tabset .cell.tag_pytorch")


def test_tabs_work_from_the_keyboard(page, book_server):
    page.goto(f"{book_server}/{FIRST_PAGE}")
    page.locator(".fw-tabset [role=tab][data-framework=pytorch]").first.focus()
    page.keyboard.press("ArrowRight")
    assert _visible(page, ".fw-tabset .cell.tag_tensorflow")
    focused = page.evaluate("document.activeElement.dataset.framework")
    assert focused == "tensorflow"
    panel_id = page.locator(
        "[role=tab][data-framework=tensorflow]"
    ).first.get_attribute("aria-controls")
    assert page.locator(f"#{panel_id}").get_attribute("role") == "tabpanel"


def test_without_javascript_both_cells_show(book_server, chromium_path, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(java_script_enabled=False)
        page = context.new_page()
        page.goto(f"{book_server}/{FIRST_PAGE}")
        assert page.locator(".fw-tabset").count() == 0
        assert page.locator(".cell.tag_pytorch").first.is_visible()
        assert page.locator(".cell.tag_tensorflow").first.is_visible()
        browser.close()


def test_maths_is_typeset_offline(page, book_server):
    page.goto(f"{book_server}/{SECOND_PAGE}")
    # MathJax 2 replaces the TeX source with rendered HTML-CSS output.
    page.wait_for_function(
        "() => window.MathJax && window.MathJax.Hub && "
        "document.querySelectorAll('.MathJax_Display').length > 0",
        timeout=30_000,
    )
    raw_tex_visible = page.evaluate(
        "() => Array.from(document.querySelectorAll('div.math')).some("
        "el => el.offsetParent !== null && el.innerText.includes('\\\\sum'))"
    )
    assert not raw_tex_visible, "a displayed equation is still raw TeX"
    errors = page.locator(".MathJax_Error, .merror").count()
    assert errors == 0
    assert not [u for u in page.blocked_requests if "mathjax" in u.lower()]


# Layout (issue 17; the stylesheet is book/_static/course-layout.css). ruff formats
# the code at 88 columns, so the code column must show 88 characters on a desktop.
CODE_COLUMNS = 88
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}

# For each visible code block, printed output or results table: does it scroll
# sideways, and how many characters does the code column show (its inner width over
# one character's width). Printed text wraps (course-layout.css); code does not.
LAYOUT_JS = """() => {
  const visible = el => el.offsetParent !== null;
  const scrolls = el => el.scrollWidth > el.clientWidth + 1;
  const code = [...document.querySelectorAll('div.cell_input div.highlight pre')]
    .filter(visible);
  const printed = [...document.querySelectorAll('div.output.stream pre')]
    .filter(visible);
  const tables = [...document.querySelectorAll('div.cell_output table')]
    .filter(visible);
  let columns = null;
  if (code.length) {
    const pre = code[0];
    const probe = document.createElement('span');
    probe.textContent = 'x'.repeat(100);
    pre.appendChild(probe);
    const charWidth = probe.getBoundingClientRect().width / 100;
    probe.remove();
    const style = getComputedStyle(pre);
    const inner = pre.clientWidth - parseFloat(style.paddingLeft)
      - parseFloat(style.paddingRight);
    columns = inner / charWidth;
  }
  const box = t => t.closest('div.output') || t.parentElement;
  return {
    code: code.length,
    codeScrolling: code.filter(scrolls).map(p => p.innerText.split('\\n')[0]),
    printedScrolling: printed.filter(scrolls).map(p => p.innerText.slice(0, 80)),
    tables: tables.length,
    tablesScrolling: tables.filter(t => scrolls(box(t))).length,
    tablesOverflowingTheirBox: tables.filter(t => {
      const b = box(t);
      return scrolls(b) && !['auto', 'scroll'].includes(getComputedStyle(b).overflowX);
    }).length,
    columns: columns,
    pageScrolls: document.scrollingElement.scrollWidth > window.innerWidth + 1,
  };
}"""


def _chapter_pages() -> list[str]:
    from booktools import toc_files

    return [entry + ".html" for entry in toc_files() if entry.startswith("chapters/")]


def _layout(page, url: str, viewport: dict) -> dict:
    page.set_viewport_size(viewport)
    page.goto(url)
    page.wait_for_load_state("load")
    return page.evaluate(LAYOUT_JS)


def test_code_fits_the_column_on_a_desktop(page, book_server):
    problems = []
    for name in _chapter_pages():
        layout = _layout(page, f"{book_server}/{name}", DESKTOP)
        assert layout["code"] > 0, f"{name}: no visible code cell"
        if layout["columns"] < CODE_COLUMNS:
            problems.append(
                f"{name}: the code column shows {layout['columns']:.1f} characters"
            )
        for first_line in layout["codeScrolling"]:
            problems.append(f"{name}: a code cell scrolls sideways: {first_line!r}")
        for start in layout["printedScrolling"]:
            problems.append(f"{name}: printed text scrolls sideways: {start!r}")
        print(
            f"{name} at 1400 px: the code column shows {layout['columns']:.1f} "
            f"characters; {layout['tablesScrolling']} of {layout['tables']} tables "
            "scroll inside their box"
        )
        assert not layout["pageScrolls"], f"{name}: the page scrolls sideways"
    assert not problems, "\n".join(problems)


def test_on_a_phone_only_boxes_scroll_never_the_page(page, book_server):
    for name in _chapter_pages():
        layout = _layout(page, f"{book_server}/{name}", PHONE)
        print(
            f"{name} at 390 px: {len(layout['codeScrolling'])} of {layout['code']} "
            f"code cells and {layout['tablesScrolling']} of {layout['tables']} tables "
            "scroll inside their box"
        )
        assert not layout["pageScrolls"], f"{name}: the page scrolls sideways"
        assert layout["tablesOverflowingTheirBox"] == 0, (
            f"{name}: a table overflows a box that does not scroll"
        )
