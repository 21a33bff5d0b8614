/* Keyboard helpers for the paper-ballot entry form (a file, not inline: CSP script-src 'self').
 *
 * The form works without this script. With it, no mouse is needed: Enter in the serial
 * field (what a USB scanner sends after the code) moves to the first row still to key
 * instead of submitting half a ballot; in a row, keys 1-6 pick that choice and move on; at
 * the head of each further page of a long ballot the page's own field takes that page's QR
 * code (or its typed serial) and Enter moves on; after the last row the save button has the
 * focus, so Enter saves. The row in hand is scrolled to the middle of the window, below the
 * bar that keeps the serial and the save button in view.
 */
(function () {
  "use strict";
  var form = document.getElementById("entry-form");
  if (!form) {
    return;
  }
  var serial = document.getElementById("serial");
  var save = document.getElementById("save-entry");
  // What is keyed, in the order of the paper: person rows and the fields of pages 2, 3, ...
  var steps = Array.prototype.slice.call(form.querySelectorAll("tr.entry-row, input.page-input"));

  function done(step) {
    if (step.tagName === "INPUT") {
      return step.value.trim() !== "";
    }
    return step.querySelector("input:checked") !== null;
  }

  function show(element) {
    element.focus({ preventScroll: true });
    var row = element.closest("tr") || element;
    row.scrollIntoView({ block: "center" });
  }

  // Focus the first step after `index` still to key; the save button once there is none.
  function next(index) {
    for (var i = index + 1; i < steps.length; i += 1) {
      if (!done(steps[i])) {
        var step = steps[i];
        show(step.tagName === "INPUT" ? step : step.querySelector("input[type=radio]"));
        return;
      }
    }
    save.focus();
  }

  serial.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      if (serial.value.trim()) {
        next(-1);
      }
    }
  });

  steps.forEach(function (step, index) {
    step.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey) {
        return;
      }
      if (step.tagName === "INPUT") {
        if (event.key === "Enter") {
          event.preventDefault();
          if (step.value.trim()) {
            next(index);
          }
        }
        return;
      }
      var input = step.querySelector('input[data-key="' + event.key + '"]');
      if (!input) {
        return;
      }
      event.preventDefault();
      input.checked = true;
      next(index);
    });
  });
})();
