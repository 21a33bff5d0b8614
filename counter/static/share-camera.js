/* Scanning a share card's QR with the laptop camera (a file, not inline: CSP script-src 'self').
 *
 * The same approach as the booth (kiosk/static/kiosk.js): where the browser has a
 * BarcodeDetector for QR codes, the code read goes into the share field and the form is
 * submitted, exactly as a keyboard-wedge scanner would; elsewhere (desktop Chromium,
 * Firefox) video frames are posted to the counter, which decodes them with zxing-cpp and
 * takes the share on the typed share's path. The share is never shown, logged or put in
 * a URL; the answer only says where to go next or why the card was refused.
 */
(function () {
  "use strict";
  var section = document.getElementById("share-camera");
  var input = document.getElementById("present-share");
  if (!section || !input) {
    return;
  }
  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return;  // the camera needs HTTPS (or localhost); typing, the scanner and files still work
  }
  section.hidden = false;
  var startButton = document.getElementById("camera-start");
  var stopButton = document.getElementById("camera-stop");
  var view = document.getElementById("camera-view");
  var video = document.getElementById("camera-video");
  var status = document.getElementById("camera-status");
  var url = section.getAttribute("data-scan-url");
  var csrf = input.form.querySelector("input[name=csrf_token]").value;
  var canvas = document.createElement("canvas");
  var stream = null;
  var detector = null;
  var timer = null;

  function say(text) { status.textContent = text; }
  function stop() {
    if (timer) { window.clearTimeout(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    view.hidden = true;
    startButton.hidden = false;
  }
  function next(ms) { if (stream) { timer = window.setTimeout(look, ms); } }
  function submitCode(text) {
    stop();
    // The decoded share travels in a hidden field: it is never shown on the screen. The
    // visible field is disabled so it is not posted beside it.
    var hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = input.name;
    hidden.value = text;
    input.value = "";
    input.disabled = true;
    input.form.appendChild(hidden);
    say(section.getAttribute("data-text-checking"));
    input.form.requestSubmit();
  }
  function postFrame() {
    var scale = Math.min(1, 960 / (video.videoWidth || 960));
    canvas.width = Math.round((video.videoWidth || 640) * scale);
    canvas.height = Math.round((video.videoHeight || 480) * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(function (blob) {
      if (!blob || !stream) { next(700); return; }
      fetch(url, { method: "POST", body: blob, credentials: "same-origin", cache: "no-store",
                   headers: { "Content-Type": "image/jpeg", "X-CSRFToken": csrf } })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (data.status === "ok") { stop(); window.location.assign(data.next); return; }
          say(data.message);
          next(data.status === "error" ? 2500 : 500);
        })
        .catch(function () { next(1500); });
    }, "image/jpeg", 0.85);
  }
  function look() {
    timer = null;
    if (!stream || video.readyState < 2) { next(300); return; }
    if (detector) {
      detector.detect(video).then(function (codes) {
        if (codes.length && codes[0].rawValue) { submitCode(codes[0].rawValue); } else { next(250); }
      }).catch(function () { detector = null; next(250); });
    } else {
      postFrame();
    }
  }
  var useDetector = ("BarcodeDetector" in window)
    ? window.BarcodeDetector.getSupportedFormats().then(function (formats) {
        return formats.indexOf("qr_code") >= 0;
      }).catch(function () { return false; })
    : Promise.resolve(false);

  startButton.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ video: true, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        view.hidden = false;
        startButton.hidden = true;
        say(section.getAttribute("data-text-looking"));
        return video.play();
      })
      .then(function () { return useDetector; })
      .then(function (ok) {
        detector = ok ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
        next(200);
      })
      .catch(function () { stop(); say(section.getAttribute("data-text-denied")); });
  });
  stopButton.addEventListener("click", function () { stop(); startButton.focus(); });
  window.addEventListener("pagehide", stop);
}());
