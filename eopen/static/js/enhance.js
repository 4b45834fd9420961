/* E-Open progressive enhancement. Every page works without this file. */
(function () {
  "use strict";
  // A double tap sends a form once: later submits of the same form are ignored until the page is shown again.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.hasAttribute("data-upload")) { return; }
    if (form.dataset.sent === "1") { event.preventDefault(); return; }
    form.dataset.sent = "1";
  });
  // Coming back with the back button (bfcache) must allow sending again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (form) { delete form.dataset.sent; });
  });
  // Take the reader to the error summary after a failed submit.
  function focusSummary() {
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusSummary);
  } else {
    focusSummary();
  }
})();
