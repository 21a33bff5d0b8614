/* Reading a QR code with the camera: the booth's slip (kiosk) and the share card (counter).
 *
 * One file that both apps serve (each app factory adds shared/static as /shared; CSP
 * script-src 'self': a file, never inline). Where the browser has a BarcodeDetector for QR
 * codes, the code read is handed to the page (onCode), exactly as a keyboard-wedge scanner
 * would type it; elsewhere (desktop Chromium, Firefox, older iPads) video frames are posted
 * to the page's server (the section's data-scan-url), which decodes them with zxing-cpp and
 * answers {status: "ok", next} (go there), "none" (no code in the frame) or "error" with a
 * message to show. The code itself is never shown or logged here.
 *
 * The section holds #camera-start, #camera-stop, #camera-view, #camera-video and
 * #camera-status, and its texts in data-text-looking, data-text-denied, data-text-checking.
 * options: csrf (the token sent with each frame), video (getUserMedia's video constraints,
 * default true), onCode(text) (a code decoded in the browser; the camera is already off).
 */
"use strict";

function startQrCamera(section, options) {
  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return;  // the camera needs HTTPS (or localhost); typing and a scanner still work
  }
  section.hidden = false;
  var startButton = document.getElementById("camera-start");
  var stopButton = document.getElementById("camera-stop");
  var view = document.getElementById("camera-view");
  var video = document.getElementById("camera-video");
  var status = document.getElementById("camera-status");
  var url = section.getAttribute("data-scan-url");
  var canvas = document.createElement("canvas");
  var stream = null;
  var detector = null;
  var timer = null;

  var say = function (text) { status.textContent = text; };
  var stop = function () {
    if (timer) { window.clearTimeout(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    view.hidden = true;
    startButton.hidden = false;
  };
  var next = function (ms) { if (stream) { timer = window.setTimeout(look, ms); } };
  var submitCode = function (text) {
    stop();
    say(section.getAttribute("data-text-checking"));
    options.onCode(text);
  };
  var postFrame = function () {
    var scale = Math.min(1, 960 / (video.videoWidth || 960));
    canvas.width = Math.round((video.videoWidth || 640) * scale);
    canvas.height = Math.round((video.videoHeight || 480) * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(function (blob) {
      if (!blob || !stream) { next(700); return; }
      fetch(url, { method: "POST", body: blob, credentials: "same-origin", cache: "no-store",
                   headers: { "Content-Type": "image/jpeg", "X-CSRFToken": options.csrf } })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (data.status === "ok") { stop(); window.location.assign(data.next); return; }
          // The kiosk says nothing for a frame without a code, the counter says so.
          if (data.message) { say(data.message); }
          next(data.status === "error" ? 2500 : 500);
        })
        .catch(function () { next(1500); });
    }, "image/jpeg", 0.85);
  };
  var look = function () {
    timer = null;
    if (!stream || video.readyState < 2) { next(300); return; }
    if (detector) {
      detector.detect(video).then(function (codes) {
        if (codes.length && codes[0].rawValue) { submitCode(codes[0].rawValue); } else { next(250); }
      }).catch(function () { detector = null; next(250); });
    } else {
      postFrame();
    }
  };
  var useDetector = ("BarcodeDetector" in window)
    ? window.BarcodeDetector.getSupportedFormats().then(function (formats) {
        return formats.indexOf("qr_code") >= 0;
      }).catch(function () { return false; })
    : Promise.resolve(false);

  startButton.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ video: options.video || true, audio: false })
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
}
