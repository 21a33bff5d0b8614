/* The count's progress bar (a file, not inline: CSP script-src 'self').
 *
 * Without this script the page reloads itself (<noscript> meta refresh). With it, the
 * page asks the counter for the count's status twice a second and moves the bar; when
 * the count has ended it loads the page again, which shows the report or the failure.
 */
(function () {
  "use strict";
  var panel = document.getElementById("count-panel");
  if (!panel) {
    return;
  }
  var bar = document.getElementById("count-progress");
  var text = document.getElementById("count-text");
  var statusUrl = panel.getAttribute("data-status-url");
  var pageUrl = panel.getAttribute("data-report-url");
  var progressText = panel.getAttribute("data-text-progress");

  function grouped(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  }

  function show(status) {
    if (status.total > 0) {
      bar.max = status.total;
      bar.value = status.done;
      bar.textContent = status.percent + "%";
      // The words come from the page, in its language (data-text-progress).
      text.textContent = progressText.replace("{done}", grouped(status.done))
        .replace("{total}", grouped(status.total)).replace("{percent}", status.percent);
    }
  }

  function poll() {
    fetch(statusUrl, {credentials: "same-origin", cache: "no-store"})
      .then(function (response) { return response.json(); })
      .then(function (status) {
        show(status);
        if (status.state === "running") {
          window.setTimeout(poll, 500);
        } else {
          window.location.replace(pageUrl);
        }
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }

  poll();
}());
