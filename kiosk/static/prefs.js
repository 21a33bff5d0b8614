// The booth voter's display settings (text size 1-3, high contrast), applied before the
// page paints. Kept in sessionStorage for this voter only: kiosk.js clears them when the
// booth returns to the start screen after a cast, a cancel or an idle reset.
"use strict";
(function () {
  var root = document.documentElement;
  try {
    if (root.hasAttribute("data-reset-prefs")) {
      window.sessionStorage.removeItem("kiosk.textSize");
      window.sessionStorage.removeItem("kiosk.contrast");
    }
    var size = window.sessionStorage.getItem("kiosk.textSize");
    if (size === "2" || size === "3") { root.classList.add("text-" + size); }
    if (window.sessionStorage.getItem("kiosk.contrast") === "1") { root.classList.add("contrast"); }
  } catch (e) { /* storage blocked: standard display */ }
})();
