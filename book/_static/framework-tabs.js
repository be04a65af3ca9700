/*
 * Framework tabs: group each run of adjacent notebook cells tagged `pytorch` and
 * `tensorflow` (MyST-NB gives their containers the classes tag_pytorch and
 * tag_tensorflow) into one tab set: PyTorch | TensorFlow.
 *
 * - Choosing a tab switches every tab set on the page and is remembered across
 *   pages (localStorage key below).
 * - Tabs are <button role="tab"> inside a role="tablist"; arrow keys, Home and End
 *   move between them (WAI-ARIA Authoring Practices, tabs pattern).
 * - Without JavaScript, and in print, nothing is grouped: both cells show, one after
 *   the other.
 */
(function () {
  "use strict";

  var STORAGE_KEY = "recsys-course-framework";
  var FRAMEWORKS = [
    { key: "pytorch", label: "PyTorch" },
    { key: "tensorflow", label: "TensorFlow" },
  ];
  var counter = 0;

  function frameworkOf(el) {
    if (!el || !el.classList || !el.classList.contains("cell")) return null;
    for (var i = 0; i < FRAMEWORKS.length; i++) {
      if (el.classList.contains("tag_" + FRAMEWORKS[i].key)) return FRAMEWORKS[i].key;
    }
    return null;
  }

  function readChoice() {
    try {
      var v = window.localStorage.getItem(STORAGE_KEY);
      return v === "pytorch" || v === "tensorflow" ? v : null;
    } catch (e) {
      return null; // storage disabled (private mode, file:// in some browsers)
    }
  }

  function saveChoice(key) {
    try {
      window.localStorage.setItem(STORAGE_KEY, key);
    } catch (e) {
      /* not remembered, still switched on this page */
    }
  }

  /* Collect maximal runs of sibling cells tagged with a framework. */
  function findRuns(root) {
    var runs = [];
    var seen = new Set();
    root.querySelectorAll(".cell.tag_pytorch, .cell.tag_tensorflow").forEach(function (cell) {
      if (seen.has(cell)) return;
      var prev = cell.previousElementSibling;
      if (frameworkOf(prev)) return; // not the start of a run
      var run = [];
      var el = cell;
      while (frameworkOf(el)) {
        run.push(el);
        seen.add(el);
        el = el.nextElementSibling;
      }
      var kinds = new Set(run.map(frameworkOf));
      if (kinds.size === FRAMEWORKS.length) runs.push(run);
    });
    return runs;
  }

  function select(key, focus) {
    document.querySelectorAll(".fw-tabset").forEach(function (set) {
      set.querySelectorAll('[role="tab"]').forEach(function (tab) {
        var on = tab.dataset.framework === key;
        tab.setAttribute("aria-selected", on ? "true" : "false");
        tab.tabIndex = on ? 0 : -1;
        if (on && focus === set) tab.focus();
      });
      set.querySelectorAll('[role="tabpanel"]').forEach(function (panel) {
        panel.hidden = panel.dataset.framework !== key;
      });
    });
    document.documentElement.dataset.framework = key;
  }

  function build(run) {
    var id = "fw-tabset-" + counter++;
    var set = document.createElement("div");
    set.className = "fw-tabset";
    var list = document.createElement("div");
    list.className = "fw-tablist";
    list.setAttribute("role", "tablist");
    list.setAttribute("aria-label", "Framework");
    set.appendChild(list);
    run[0].parentNode.insertBefore(set, run[0]);

    FRAMEWORKS.forEach(function (fw) {
      var tab = document.createElement("button");
      tab.type = "button";
      tab.className = "fw-tab";
      tab.id = id + "-tab-" + fw.key;
      tab.dataset.framework = fw.key;
      tab.setAttribute("role", "tab");
      tab.setAttribute("aria-controls", id + "-panel-" + fw.key);
      tab.textContent = fw.label;
      list.appendChild(tab);

      var panel = document.createElement("div");
      panel.className = "fw-panel";
      panel.id = id + "-panel-" + fw.key;
      panel.dataset.framework = fw.key;
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", tab.id);
      run.forEach(function (cell) {
        if (frameworkOf(cell) === fw.key) panel.appendChild(cell);
      });
      set.appendChild(panel);

      tab.addEventListener("click", function () {
        saveChoice(fw.key);
        select(fw.key, null);
      });
    });

    list.addEventListener("keydown", function (event) {
      var tabs = Array.prototype.slice.call(list.querySelectorAll('[role="tab"]'));
      var i = tabs.indexOf(document.activeElement);
      if (i < 0) return;
      var next = null;
      if (event.key === "ArrowRight") next = (i + 1) % tabs.length;
      else if (event.key === "ArrowLeft") next = (i - 1 + tabs.length) % tabs.length;
      else if (event.key === "Home") next = 0;
      else if (event.key === "End") next = tabs.length - 1;
      if (next === null) return;
      event.preventDefault();
      var key = tabs[next].dataset.framework;
      saveChoice(key);
      select(key, set);
    });
  }

  function init() {
    var runs = findRuns(document);
    runs.forEach(build);
    if (runs.length) {
      document.documentElement.classList.add("fw-tabs-ready");
      select(readChoice() || "pytorch", null);
    }
  }

  // Another page (or tab) changed the choice: follow it.
  window.addEventListener("storage", function (event) {
    if (event.key === STORAGE_KEY && event.newValue) select(event.newValue, null);
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
