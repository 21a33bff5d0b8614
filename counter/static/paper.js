/* Keyboard helpers for the paper-ballot entry form (a file, not inline: CSP script-src 'self').
 *
 * The form works without this script. With it: Enter in the serial field (what a USB
 * scanner sends after the code) moves to row 1 instead of submitting half a ballot; in a
 * row, keys 1-6 pick that choice and move to the next row; after the last row the save
 * button has the focus, so Enter saves.
 */
(function () {
  "use strict";
  var form = document.getElementById("entry-form");
  if (!form) {
    return;
  }
  var serial = document.getElementById("serial");
  var save = document.getElementById("save-entry");
  var rows = Array.prototype.slice.call(form.querySelectorAll("tr.entry-row"));

  function focusRow(index) {
    if (index >= rows.length) {
      save.focus();
      return;
    }
    var row = rows[index];
    var target = row.querySelector("input:checked") || row.querySelector("input[type=radio]");
    target.focus();
  }

  serial.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      if (serial.value.trim()) {
        focusRow(0);
      }
    }
  });

  rows.forEach(function (row, index) {
    row.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey) {
        return;
      }
      var input = row.querySelector('input[data-key="' + event.key + '"]');
      if (!input) {
        return;
      }
      event.preventDefault();
      input.checked = true;
      focusRow(index + 1);
    });
  });
})();
