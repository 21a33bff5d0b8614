// Kiosk page behaviour. Served from 'self' (CSP: no inline script). Pages work without it;
// it only adds printing, confirmations, the ballot progress line, the booth idle reset
// and the chair's live counts.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });

  // Forms submit once: a second tap while the first is on its way does nothing.
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent === "1") { event.preventDefault(); return; }
      form.dataset.sent = "1";
    });
  });

  var ballot = document.getElementById("ballot-form");
  if (ballot) {
    var chosen = document.getElementById("chosen");
    var update = function () {
      chosen.textContent = String(ballot.querySelectorAll("input[type=radio]:checked").length);
    };
    ballot.addEventListener("change", update);
    update();
  }

  var idle = document.getElementById("idle");
  if (idle) { startIdleTimer(idle); }

  var dashboard = document.getElementById("dashboard");
  if (dashboard) { startLiveCounts(dashboard); }
});

function startIdleTimer(idle) {
  var idleSeconds = parseInt(idle.getAttribute("data-idle"), 10);
  var warningSeconds = parseInt(idle.getAttribute("data-warning"), 10);
  var resetForm = document.getElementById(idle.getAttribute("data-reset-form"));
  var overlay = document.createElement("div");
  overlay.className = "idle-warning";
  overlay.hidden = true;
  overlay.setAttribute("role", "alertdialog");
  overlay.setAttribute("aria-live", "assertive");
  var box = document.createElement("div");
  var text = document.createElement("p");
  var stay = document.createElement("button");
  stay.type = "button";
  stay.className = "primary big";
  stay.textContent = "Tôi vẫn đang bỏ phiếu";
  box.appendChild(text);
  box.appendChild(stay);
  overlay.appendChild(box);
  document.body.appendChild(overlay);

  var last = Date.now();
  var touch = function () { last = Date.now(); overlay.hidden = true; };
  ["pointerdown", "keydown", "change", "scroll"].forEach(function (name) {
    document.addEventListener(name, touch, true);
  });
  stay.addEventListener("click", touch);
  window.setInterval(function () {
    var quiet = (Date.now() - last) / 1000;
    if (quiet >= idleSeconds + warningSeconds) {
      // Back to the start screen; the slip stays unspent.
      resetForm.submit();
    } else if (quiet >= idleSeconds) {
      overlay.hidden = false;
      text.textContent = "Không thấy thao tác. Phiên bỏ phiếu sẽ kết thúc sau " +
        Math.ceil(idleSeconds + warningSeconds - quiet) + " giây; phiếu chưa được ghi và vẫn còn giá trị.";
    }
  }, 1000);
}

function startLiveCounts(dashboard) {
  var url = dashboard.getAttribute("data-status-url");
  var labels = { draft: "Đang chuẩn bị", ready: "Sẵn sàng (đã tạo khóa)", open: "Đang bỏ phiếu",
                 paused: "Tạm dừng", closed: "Đã kết thúc" };
  var set = function (field, value) {
    var node = dashboard.querySelector("[data-field=" + field + "]");
    if (node) { node.textContent = String(value); }
  };
  window.setInterval(function () {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        set("state_label", labels[data.state] || data.state);
        set("checked_in", data.checked_in);
        set("slips_issued", data.slips_issued);
        set("ballots_cast", data.ballots_cast);
        set("booths", data.booths);
        set("quorum_text", data.quorum ? "Đã đủ 2/3" : "Cần ít nhất " + data.quorum_needed + " người (2/3)");
      })
      .catch(function () { /* the next tick tries again */ });
  }, 3000);
}
