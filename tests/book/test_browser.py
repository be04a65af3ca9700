"""The website in a real browser, with the network unreachable.

Headless Debian chromium (a fresh context per test, ``--no-sandbox``, every host but
127.0.0.1 unresolvable), driven by Playwright, every action bounded by a timeout:

* on every chapter, choosing TensorFlow (or PyTorch) with the header switch shows, on
  every section page, the glued numbers, the results tables and the printed lines of
  that framework's execution (read from ``_executed/``), not the other's; the choice
  persists to the next page and to the root page;
* the switches keep the reader's place, work from the keyboard and without JavaScript;
* MathJax (served from the build, not a CDN) typesets displayed equations;
* on the same visit to every section page, code fits the column on a desktop and
  only boxes scroll, never the page, on a phone (issue 17).
"""

from __future__ import annotations

import re

import pytest
from booktools import EXECUTED, FRAMEWORKS, docname, expected_outputs

from coursetools.sections import by_chapter, discover

pytestmark = pytest.mark.browser

SECTIONS = discover()
OTHER = {"pytorch": "tensorflow", "tensorflow": "pytorch"}
LABEL = {"pytorch": "PyTorch", "tensorflow": "TensorFlow"}
TIMEOUT_MS = 30_000
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


@pytest.fixture(scope="session")
def browser(chromium_path):
    """One headless chromium per test worker, its profile a fresh temporary folder.
    Each test opens a fresh context of it (``page``): its own storage, cache and
    cookies, nothing shared with another test's. Launching chromium for every test
    cost 2-3 s a test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=CHROMIUM_ARGS,
            timeout=TIMEOUT_MS,
        )
        yield browser
        browser.close()


def _context(browser, book_server, **options):
    """A fresh context of ``browser`` whose requests reach only ``book_server``; the
    ones it blocked are listed in ``context.blocked_requests``."""
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    blocked: list[str] = []

    def only_localhost(route):
        if route.request.url.startswith(book_server):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_localhost)
    context.blocked_requests = blocked
    return context


@pytest.fixture
def page(browser, book_server):
    context = _context(browser, book_server)
    page = context.new_page()
    yield page
    context.close()


# What a page shows, read in the browser (visible text, as the reader sees it).
SHOWN_JS = """() => {
  const sq = t => t.split(/\\s+/).filter(Boolean).join(" ");
  const stream = [...document.querySelectorAll("div.output.stream pre")]
    .map(d => sq(d.textContent)).filter(Boolean);
  const glued = [...document.querySelectorAll("span.pasted-text")]
    .map(s => sq(s.textContent));
  const tables = [...document.querySelectorAll("div.cell_output table")]
    .map(t => [...t.rows].map(r => [...r.cells].map(c => sq(c.textContent))));
  return {stream, glued, tables};
}"""


def _framework_of_page(page) -> str:
    return page.locator(".fw-switch [aria-current=page]").get_attribute(
        "data-framework"
    )


def _stored(page):
    return page.evaluate("localStorage.getItem('recsys-course-framework')")


def _executed(framework, section):
    return EXECUTED / ("parity" if section.is_parity else framework) / section.rel


def _differences(mine, theirs) -> int:
    """How many items (glued value, table, printed line) differ between two
    executions' pages, position by position."""
    count = 0
    for kind in ("glued", "tables", "stream"):
        a, b = getattr(mine, kind), getattr(theirs, kind)
        count += sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))
    return count


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize(
    "chapter", sorted(by_chapter(SECTIONS)), ids=lambda n: f"chapter{n}"
)
def test_each_chapter_shows_the_chosen_frameworks_outputs(
    page, book_server, framework, chapter
):
    """Start on the other framework's chapter page, choose ``framework`` with the
    header switch, then read every section page, going on with the "next" link: each
    shows this framework's glued numbers, tables and printed lines; the choice stays.
    On the way, each page's layout is checked on a desktop and on a phone (issue 17):
    one visit per page serves both checks."""
    sections = by_chapter(SECTIONS)[chapter]
    other = OTHER[framework]
    page.set_viewport_size(DESKTOP)
    page.goto(f"{book_server}/{other}/{docname(sections[0])}.html")
    assert _framework_of_page(page) == other
    with page.expect_navigation():
        page.locator(f".fw-switch a[data-framework={framework}]").click()
    tables = told_apart = 0
    layout_problems = []
    for index, section in enumerate(sections):
        url = f"{book_server}/{framework}/{docname(section)}.html"
        assert page.url.split("#")[0] == url, (page.url, url)
        assert _framework_of_page(page) == framework
        assert _stored(page) == framework
        shown = page.evaluate(SHOWN_JS)
        expected = expected_outputs(_executed(framework, section))
        where = f"{framework} {section.rel}"
        assert shown["glued"] == expected.glued, f"{where}: glued numbers"
        assert shown["tables"] == expected.tables, f"{where}: output tables"
        assert shown["stream"] == expected.stream, f"{where}: printed outputs"
        tables += len(expected.tables)
        told_apart += _differences(
            expected, expected_outputs(_executed(other, section))
        )
        layout_problems += _layout_problems(page, f"{framework}/{docname(section)}")
        if index + 1 < len(sections):
            _follow(page.locator("a.right-next"))
    print(
        f"chapter {chapter} in {LABEL[framework]}: {tables} tables; {told_apart} "
        f"outputs differ from {LABEL[other]}'s and show {LABEL[framework]}'s"
    )
    assert tables > 0, f"chapter {chapter} shows no results table"
    assert told_apart > 0, (
        f"chapter {chapter}: no output differs between the frameworks, so nothing "
        "proves which execution the pages show"
    )
    assert not layout_problems, "\n".join(layout_problems)
    # the root page opens the site chosen last
    page.goto(f"{book_server}/index.html")
    page.wait_for_url(re.compile(rf"/{framework}/"))
    assert _framework_of_page(page) == framework


def _follow(link) -> None:
    """Follow a visible link with a click event on the link itself, not a mouse click
    at its position. A page still changes its layout after its load event (MathJax
    typesets then; the phone-width check relayouts it), and on a busy machine a mouse
    click raced such a change: in a CI run with a CPU burner (2026-12-07) the click
    on "next" brought no navigation (30 s timeout), the likely cause a click that
    landed beside the moved link."""
    assert link.is_visible(), "the link is not shown"
    with link.page.expect_navigation():
        link.dispatch_event("click")


def _first_framework_page():
    for section in SECTIONS:
        if not section.is_parity:
            nb = section.path.read_text(encoding="utf-8")
            if '"pytorch"' in nb and '"tensorflow"' in nb:
                return docname(section)
    pytest.fail("no section has framework cells")


def test_the_cell_switch_leads_to_the_twin_cell(page, book_server):
    name = _first_framework_page()
    page.goto(f"{book_server}/pytorch/{name}.html")
    control = page.locator(".cell.tag_pytorch .fw-cell-switch").first
    assert control.locator("[aria-current]").inner_text() == "PyTorch"
    link = control.locator("a[data-framework=tensorflow]")
    anchor = link.get_attribute("href").split("#")[1]
    with page.expect_navigation():
        link.click()
    assert page.url == f"{book_server}/tensorflow/{name}.html#{anchor}"
    twin = page.locator(f"#{anchor}")
    assert "tag_tensorflow" in twin.get_attribute("class")
    assert twin.is_visible()
    assert twin.evaluate("el => el.getBoundingClientRect().top < window.innerHeight")
    assert _stored(page) == "tensorflow"


def test_the_header_switch_keeps_the_readers_place(page, book_server):
    """Scrolled to a framework cell, the header switch opens the other site at its
    twin (the script adds the anchor of the last mark in the top of the window)."""
    name = _first_framework_page()
    page.goto(f"{book_server}/pytorch/{name}.html")
    page.evaluate(
        "document.getElementById('fw-cell-1')"
        ".scrollIntoView({block: 'start', behavior: 'instant'})"
    )
    # a click where the (sticky) switch is; Playwright's click() would first scroll
    box = page.locator(".fw-switch a[data-framework=tensorflow]").bounding_box()
    with page.expect_navigation():
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert page.url == f"{book_server}/tensorflow/{name}.html#fw-cell-1"
    top = page.locator("#fw-cell-1").evaluate("el => el.getBoundingClientRect().top")
    assert 0 <= top < page.viewport_size["height"] / 2


def test_the_switch_works_from_the_keyboard(page, book_server):
    name = _first_framework_page()
    page.goto(f"{book_server}/pytorch/{name}.html")
    for _ in range(60):  # Tab through the page until the switch's link has focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.framework || ''") == (
            "tensorflow"
        ):
            break
    else:
        pytest.fail("Tab never reached the switch's TensorFlow link")
    assert page.evaluate(
        "document.activeElement.closest('.fw-switch, .fw-cell-switch') !== null"
    )
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.split("#")[0] == f"{book_server}/tensorflow/{name}.html"
    assert _stored(page) == "tensorflow"


def test_without_javascript_the_switch_still_switches(browser, book_server):
    name = _first_framework_page()
    context = _context(browser, book_server, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{book_server}/tensorflow/{name}.html")
        assert page.locator(".cell.tag_tensorflow").first.is_visible()
        assert page.locator(".cell.tag_pytorch").count() == 0
        with page.expect_navigation():
            page.locator(".fw-switch a[data-framework=pytorch]").click()
        assert page.url == f"{book_server}/pytorch/{name}.html"
        assert page.locator(".cell.tag_pytorch").first.is_visible()
    finally:
        context.close()


def test_maths_is_typeset_offline(page, book_server):
    page.goto(f"{book_server}/tensorflow/book/notation.html")
    # MathJax 2 replaces the TeX source with rendered HTML-CSS output.
    page.wait_for_function(
        "() => window.MathJax && window.MathJax.Hub && "
        "document.querySelectorAll('.MathJax_Display').length > 0",
        timeout=TIMEOUT_MS,
    )
    raw_tex_visible = page.evaluate(
        "() => Array.from(document.querySelectorAll('div.math')).some("
        "el => el.offsetParent !== null && el.innerText.includes('\\\\sum'))"
    )
    assert not raw_tex_visible, "a displayed equation is still raw TeX"
    errors = page.locator(".MathJax_Error, .merror").count()
    assert errors == 0
    assert not [u for u in page.context.blocked_requests if "mathjax" in u.lower()]


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


def _layout(page, viewport: dict) -> dict:
    """The layout of the page shown, at ``viewport`` (the page is laid out again at
    that size, as when a reader resizes the window; the stylesheet's rules are width
    media queries)."""
    page.set_viewport_size(viewport)
    return page.evaluate(LAYOUT_JS)


def _layout_problems(page, name: str) -> list[str]:
    """What is wrong with the layout of the page shown, on a desktop (the code column
    shows 88 characters; no code or printed text scrolls sideways) and on a phone
    (only boxes scroll, never the page); the page is left at the desktop size."""
    problems = []
    desktop = _layout(page, DESKTOP)
    if desktop["code"] == 0:
        problems.append(f"{name}: no visible code cell")
    elif desktop["columns"] < CODE_COLUMNS:
        problems.append(
            f"{name}: the code column shows {desktop['columns']:.1f} characters"
        )
    for first_line in desktop["codeScrolling"]:
        problems.append(f"{name}: a code cell scrolls sideways: {first_line!r}")
    for start in desktop["printedScrolling"]:
        problems.append(f"{name}: printed text scrolls sideways: {start!r}")
    if desktop["pageScrolls"]:
        problems.append(f"{name} at 1400 px: the page scrolls sideways")
    print(
        f"{name} at 1400 px: the code column shows {desktop['columns']:.1f} "
        f"characters; {desktop['tablesScrolling']} of {desktop['tables']} tables "
        "scroll inside their box"
    )
    phone = _layout(page, PHONE)
    print(
        f"{name} at 390 px: {len(phone['codeScrolling'])} of {phone['code']} "
        f"code cells and {phone['tablesScrolling']} of {phone['tables']} tables "
        "scroll inside their box"
    )
    if phone["pageScrolls"]:
        problems.append(f"{name} at 390 px: the page scrolls sideways")
    if phone["tablesOverflowingTheirBox"]:
        problems.append(
            f"{name} at 390 px: a table overflows a box that does not scroll"
        )
    page.set_viewport_size(DESKTOP)
    return problems
