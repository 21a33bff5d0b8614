/* Scanning a share card's QR with the laptop camera (a file, not inline: CSP script-src 'self').
 *
 * The camera loop is the booth's (shared/static/qr-camera.js, loaded by the same page): where
 * the browser has a BarcodeDetector, the code read goes into the share field and the form is
 * submitted, exactly as a keyboard-wedge scanner would; elsewhere video frames are posted to
 * the counter, which decodes them with zxing-cpp and takes the share on the typed share's
 * path. The share is never shown, logged or put in a URL.
 */
(function () {
  "use strict";
  var section = document.getElementById("share-camera");
  var input = document.getElementById("present-share");
  if (!section || !input || typeof startQrCamera !== "function") {
    return;
  }
  startQrCamera(section, {
    csrf: input.form.querySelector("input[name=csrf_token]").value,
    onCode: function (text) {
      // The decoded share travels in a hidden field: it is never shown on the screen. The
      // visible field is disabled so it is not posted beside it.
      var hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = input.name;
      hidden.value = text;
      input.value = "";
      input.disabled = true;
      input.form.appendChild(hidden);
      input.form.requestSubmit();
    }
  });
}());
