/*
 * The website is two sites, one per framework: <root>/pytorch/ and <root>/tensorflow/,
 * with the same pages at the same paths (coursetools/site.py). Each page's header has
 * a PyTorch | TensorFlow switch, and each framework cell a small control of the same
 * kind; both link to the same place on the other site (book/_ext/framework_site.py
 * writes the links, so they work without JavaScript too).
 *
 * This script:
 * - remembers the framework of the page being read (localStorage key below), so that
 *   <root>/index.html opens the site chosen last;
 * - when the header switch is used, keeps the reader's place: the link gets the
 *   address's anchor, or the last section or framework cell that starts in the top
 *   quarter of the window or above it.
 */
(function () {
  "use strict";

  var STORAGE_KEY = "recsys-course-framework";

  function save(key) {
    try {
      window.localStorage.setItem(STORAGE_KEY, key);
    } catch (e) {
      /* storage disabled (private mode): the links still switch */
    }
  }

  /* The anchor of the reader's place on the page. */
  function place() {
    if (window.location.hash) return window.location.hash;
    var marks = document.querySelectorAll(
      "article section[id], article [id^='fw-cell-']"
    );
    var limit = window.innerHeight / 4; // the top quarter of the window
    var found = "";
    for (var i = 0; i < marks.length; i++) {
      if (marks[i].getBoundingClientRect().top <= limit) found = "#" + marks[i].id;
    }
    return found;
  }

  function init() {
    var nav = document.querySelector(".fw-switch");
    if (!nav) return;
    var current = nav.dataset.current;
    document.documentElement.dataset.framework = current;
    save(current);
    nav.querySelectorAll("a[data-framework]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        save(link.dataset.framework);
        var anchor = place();
        if (anchor) {
          event.preventDefault();
          window.location.href = link.href.split("#")[0] + anchor;
        }
      });
    });
    document.querySelectorAll(".fw-cell-switch a[data-framework]").forEach(function (link) {
      link.addEventListener("click", function () {
        save(link.dataset.framework);
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
