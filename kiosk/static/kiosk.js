// Kiosk page behaviour. Served from 'self' (CSP: no inline script). Every page works
// without it; it adds printing, confirmations, the ballot's progress line and checks,
// the booth idle reset, display settings, heartbeat and camera scanning, the desk's
// type-ahead search and slip layouts, and the chair's live counts. Every text it shows
// comes from the page (data-* attributes rendered through the gettext catalogues).
"use strict";

function csrfToken() {
  var meta = document.querySelector("meta[name=csrf-token]");
  return meta ? meta.getAttribute("content") : "";
}

function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, function (all, key) {
    return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : all;
  });
}

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });

  // Forms submit once: a second tap while the first is on its way does nothing. On the
  // document, so it runs after a form's own checks (which may cancel the submission).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || (form.getAttribute("method") || "").toLowerCase() !== "post") { return; }
    if (form.dataset.sent === "1") { event.preventDefault(); return; }
    form.dataset.sent = "1";
  });

  var ballot = document.getElementById("ballot-form");
  if (ballot) { startBallot(ballot); }
  var idle = document.getElementById("idle");
  if (idle) { startIdleTimer(idle); }
  var dashboard = document.getElementById("dashboard");
  if (dashboard) { startLiveCounts(dashboard); }
  var tools = document.querySelector("[data-display-tools]");
  if (tools) { startDisplayTools(tools); }
  var heartbeat = document.body.getAttribute("data-heartbeat-url");
  if (heartbeat) { startHeartbeat(heartbeat); }
  var codeInput = document.querySelector("[data-scan-target]");
  if (codeInput) { startCodeEntry(codeInput); }
  var camera = document.getElementById("camera");
  if (camera && codeInput && typeof startQrCamera === "function") { startCamera(camera, codeInput); }
  var countdown = document.querySelector("[data-countdown]");
  if (countdown) { startCountdown(countdown); }
  var retry = document.getElementById("retry-form");
  if (retry) { startRetry(retry); }
  var search = document.getElementById("search-form");
  if (search) { startTypeAhead(search); }
  var sheet = document.getElementById("sheet");
  if (sheet) { startSlipSheet(sheet); }
});

// --- booth ---------------------------------------------------------------------------

function startBallot(form) {
  var chosen = document.getElementById("chosen");
  var missing = document.getElementById("missing");
  var rows = Array.prototype.slice.call(form.querySelectorAll(".person"));
  var unmarked = function () {
    return rows.filter(function (row) { return !row.querySelector("input[type=radio]:checked"); });
  };
  var update = function () {
    chosen.textContent = String(rows.length - unmarked().length);
    rows.forEach(function (row) {
      if (row.querySelector("input:checked")) { row.classList.remove("missing"); }
    });
    if (missing && unmarked().length === 0) { missing.hidden = true; }
  };
  form.addEventListener("change", update);
  update();
  // Our own check instead of the browser's bubble: every unmarked row is shown at once.
  form.noValidate = true;
  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (submitter && submitter.hasAttribute("formnovalidate")) { return; }
    var left = unmarked();
    if (left.length === 0) { return; }
    event.preventDefault();
    left.forEach(function (row) { row.classList.add("missing"); });
    missing.textContent = fill(form.getAttribute("data-missing-text"), { n: left.length });
    missing.hidden = false;
    var first = left[0].querySelector("input[type=radio]");
    left[0].scrollIntoView({ block: "center" });
    first.focus({ preventScroll: true });
  });
}

function startIdleTimer(overlay) {
  var idleSeconds = parseInt(overlay.getAttribute("data-idle"), 10);
  var warningSeconds = parseInt(overlay.getAttribute("data-warning"), 10);
  var resetForm = document.getElementById(overlay.getAttribute("data-reset-form"));
  var seconds = document.getElementById("idle-seconds");
  var stay = document.getElementById("idle-stay");
  var last = Date.now();
  var touch = function () {
    last = Date.now();
    if (!overlay.hidden) { overlay.hidden = true; }
  };
  ["pointerdown", "touchstart", "keydown", "change", "scroll", "wheel"].forEach(function (name) {
    document.addEventListener(name, touch, true);
  });
  stay.addEventListener("click", touch);
  window.setInterval(function () {
    var quiet = (Date.now() - last) / 1000;
    if (quiet >= idleSeconds + warningSeconds) {
      // Back to the start screen; the slip stays unspent.
      if (resetForm.elements.reason) { resetForm.elements.reason.value = "idle"; }
      resetForm.submit();
    } else if (quiet >= idleSeconds) {
      seconds.textContent = String(Math.ceil(idleSeconds + warningSeconds - quiet));
      if (overlay.hidden) {
        overlay.hidden = false;
        stay.focus();
      }
    }
  }, 250);
}

function startDisplayTools(tools) {
  var root = document.documentElement;
  var store = window.sessionStorage;
  tools.hidden = false;
  var sizeButtons = tools.querySelectorAll("[data-text-size]");
  var contrast = tools.querySelector("[data-contrast]");
  var show = function () {
    var size = root.classList.contains("text-3") ? "3" : root.classList.contains("text-2") ? "2" : "1";
    sizeButtons.forEach(function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-text-size") === size ? "true" : "false");
    });
    contrast.setAttribute("aria-pressed", root.classList.contains("contrast") ? "true" : "false");
  };
  sizeButtons.forEach(function (button) {
    button.addEventListener("click", function () {
      var size = button.getAttribute("data-text-size");
      root.classList.remove("text-2", "text-3");
      if (size !== "1") { root.classList.add("text-" + size); }
      try { store.setItem("kiosk.textSize", size); } catch (e) { /* standard size next page */ }
      show();
    });
  });
  contrast.addEventListener("click", function () {
    var on = root.classList.toggle("contrast");
    try { store.setItem("kiosk.contrast", on ? "1" : "0"); } catch (e) { /* ignore */ }
    show();
  });
  show();
}

function startHeartbeat(url) {
  // On a fixed wall-clock schedule, never at a voter's action: "this tablet is on".
  var period = 20000;
  var beat = function () {
    fetch(url, { method: "POST", credentials: "same-origin", cache: "no-store",
                 headers: { "X-CSRFToken": csrfToken() } }).catch(function () { /* next beat */ });
    schedule();
  };
  var schedule = function () { window.setTimeout(beat, period - (Date.now() % period)); };
  schedule();
}

function startCodeEntry(input) {
  // A USB/Bluetooth scanner types like a keyboard: keys typed while something else has
  // the focus still go into the code field.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target === input || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA")) { return; }
    if (event.key && event.key.length === 1 && event.key !== " ") { input.focus(); }
  }, true);
}

function startCamera(section, input) {
  // The camera loop is shared with the counter (shared/static/qr-camera.js, loaded by the
  // start page); a code read in the browser goes into the code field, as a scanner types it.
  // The back camera of a tablet where it has one.
  startQrCamera(section, {
    csrf: csrfToken(),
    video: { facingMode: "environment" },
    onCode: function (text) { input.value = text; input.form.requestSubmit(); }
  });
}

function startCountdown(node) {
  // The "recorded" screen returns to the start on its own; a touch or a key restarts the count.
  var full = parseInt(node.getAttribute("data-countdown"), 10);
  var url = node.getAttribute("data-countdown-url");
  var out = document.getElementById("countdown");
  var left = full;
  ["pointerdown", "keydown"].forEach(function (name) {
    document.addEventListener(name, function () { left = full; if (out) { out.textContent = String(left); } }, true);
  });
  window.setInterval(function () {
    left = Math.max(0, left - 1);
    if (out) { out.textContent = String(left); }
    if (left === 0) { window.location.assign(url); }
  }, 1000);
}

function startRetry(form) {
  // The kiosk answered 503 (busy, disk full, read-only): post the same fields again, so the
  // same cast id, which can never cast twice. A bounded number of attempts; the pause
  // doubles each time, with a random part so that many booths do not come back in step.
  var attempt = parseInt(form.getAttribute("data-retry-attempt"), 10) || 1;
  var max = parseInt(form.getAttribute("data-retry-max"), 10) || 0;
  var status = document.getElementById("retry-status");
  if (attempt > max) { status.textContent = form.getAttribute("data-text-stopped"); return; }
  var base = parseInt(form.getAttribute("data-retry-after"), 10) || 2;
  var left = Math.min(30, base * Math.pow(2, attempt - 1)) + Math.floor(Math.random() * base);
  var show = function () {
    status.textContent = fill(form.getAttribute("data-text-waiting"), { n: left, attempt: attempt, max: max });
  };
  show();
  var timer = window.setInterval(function () {
    left -= 1;
    if (left > 0) { show(); return; }
    window.clearInterval(timer);
    status.textContent = form.getAttribute("data-text-sending");
    form.requestSubmit();
  }, 1000);
}

// --- chair ---------------------------------------------------------------------------

function startLiveCounts(dashboard) {
  var url = dashboard.getAttribute("data-status-url");
  var labels = JSON.parse(dashboard.getAttribute("data-state-labels") || "{}");
  var set = function (field, value) {
    dashboard.querySelectorAll("[data-field=" + field + "]").forEach(function (node) {
      node.textContent = String(value);
    });
  };
  var stateTile = dashboard.querySelector("[data-state-tile]");
  var quorumTile = dashboard.querySelector("[data-quorum-tile]");
  var meter = dashboard.querySelector("meter");
  window.setInterval(function () {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        set("state_label", labels[data.state] || data.state);
        ["checked_in", "slips_issued", "slips_voided", "ballots_cast", "booths", "booths_online"]
          .forEach(function (field) { set(field, data[field]); });
        set("quorum_text", data.quorum ? dashboard.getAttribute("data-quorum-ok")
          : fill(dashboard.getAttribute("data-quorum-missing"), { n: data.quorum_needed }));
        if (meter) { meter.value = data.checked_in; }
        if (stateTile) { stateTile.className = "tile tile-state state-" + data.state; }
        if (quorumTile) {
          quorumTile.classList.toggle("quorum-ok", data.quorum);
          quorumTile.classList.toggle("quorum-missing", !data.quorum);
        }
      })
      .catch(function () { /* the next tick tries again */ });
  }, 3000);
}

// --- desk ----------------------------------------------------------------------------

function startTypeAhead(form) {
  var input = document.getElementById("q");
  var body = document.getElementById("results-body");
  var status = document.getElementById("search-status");
  var present = document.getElementById("present");
  var url = form.getAttribute("data-search-url");
  var text = function (name) { return form.getAttribute("data-text-" + name); };
  var shownQuery = null;
  var pending = null;
  var timer = null;
  var active = -1;
  var count = 0;

  var rows = function () { return Array.prototype.slice.call(body.querySelectorAll("tr[data-voter-id]")); };
  var highlight = function (index) {
    var all = rows();
    active = index;
    all.forEach(function (row, i) {
      row.classList.toggle("active", i === index);
      row.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (index >= 0 && all[index]) { all[index].scrollIntoView({ block: "nearest" }); }
  };
  var build = function (voter, n) {
    var id = voter.left ? "row-left" : voter.slip_issued ? "row-slip" : voter.checked_in ? "row-again" : "row-new";
    var row = document.getElementById(id).content.firstElementChild.cloneNode(true);
    row.setAttribute("data-voter-id", voter.voter_id);
    row.querySelector("[data-cell=voter_id]").textContent = voter.voter_id;
    var name = row.querySelector("[data-cell=name]");
    name.textContent = voter.name;
    name.id = "vname-" + n;
    row.querySelector("[data-cell=position]").textContent = voter.position;
    row.querySelectorAll("input[name=voter_id]").forEach(function (field) { field.value = voter.voter_id; });
    var pick = row.querySelector("[data-pick]");
    if (pick) { pick.setAttribute("aria-labelledby", "pick-label vname-" + n); }
    var q = row.querySelector("input[name=q]");
    if (q) { q.value = input.value; }
    var replaced = row.querySelector("[data-replaced]");
    if (replaced) {
      replaced.hidden = !voter.replaced;
      replaced.textContent = fill(replaced.getAttribute("data-text"), { n: voter.replaced });
    }
    var voidCode = row.querySelector("input[name=code]");
    if (voidCode) {
      voidCode.id = "void-" + n;
      row.querySelector("label[for]").setAttribute("for", "void-" + n);
    }
    return row;
  };
  var render = function (data, query) {
    var picked = {};
    document.querySelectorAll("input[data-pick]:checked").forEach(function (box) { picked[box.value] = true; });
    body.textContent = "";
    data.voters.forEach(function (voter, i) {
      var row = build(voter, i + 1);
      var box = row.querySelector("[data-pick]");
      if (box && picked[voter.voter_id]) { box.checked = true; }
      body.appendChild(row);
    });
    count = data.voters.length;
    if (present) { present.textContent = String(data.present); }
    if (!count) {
      var empty = document.createElement("tr");
      var cell = document.createElement("td");
      cell.colSpan = 5;
      cell.textContent = text("none");
      empty.appendChild(cell);
      body.appendChild(empty);
    }
    status.textContent = !count ? text("none") : data.matches > count
      ? fill(text("more"), { n: data.matches, shown: count }) : fill(text("count"), { n: data.matches });
    shownQuery = query;
    highlight(count === 1 ? 0 : -1);
  };
  var run = function () {
    var query = input.value;
    if (timer) { window.clearTimeout(timer); timer = null; }
    if (query === shownQuery && !pending) { return Promise.resolve(); }
    var request = fetch(url + "?q=" + encodeURIComponent(query), { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && input.value === query) { render(data, query); }
        if (pending === request) { pending = null; }
      })
      .catch(function () { if (pending === request) { pending = null; } });
    pending = request;
    return request;
  };
  var checkIn = function (row) {
    var button = row && row.querySelector(".checkin-form button");
    if (!button) { status.textContent = text(form.hasAttribute("data-text-closed") ? "closed" : "has-slip"); return; }
    button.form.requestSubmit(button);
  };

  input.addEventListener("input", function () {
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(run, 200);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var total = rows().length;
      if (!total) { return; }
      var step = event.key === "ArrowDown" ? 1 : -1;
      highlight(active < 0 ? (step > 0 ? 0 : total - 1) : (active + step + total) % total);
    } else if (event.key === "Enter") {
      // One key: check in the one match (or the row chosen with the arrows) and print.
      event.preventDefault();
      var typed = input.value;
      var chosenId = active >= 0 && rows()[active] ? rows()[active].getAttribute("data-voter-id") : null;
      run().then(function () {
        var all = rows();
        if (input.value !== typed) { return; }
        var row = chosenId !== null && shownQuery === typed
          ? all.filter(function (r) { return r.getAttribute("data-voter-id") === chosenId; })[0] : null;
        if (!row && all.length === 1 && count === 1) { row = all[0]; }
        if (row) { checkIn(row); } else if (count > 1) { status.textContent = text("pick"); }
      });
    } else if (event.key === "Escape") {
      input.value = "";
      run();
    }
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); run(); });
  shownQuery = input.value;
}

function startSlipSheet(sheet) {
  var buttons = document.querySelectorAll("[data-layout]");
  var apply = function (layout) {
    sheet.classList.remove("a4", "r80", "r58");
    sheet.classList.add(layout);
    buttons.forEach(function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-layout") === layout ? "true" : "false");
    });
  };
  var stored = null;
  try { stored = window.localStorage.getItem("kiosk.slipLayout"); } catch (e) { /* default */ }
  apply(stored === "r80" || stored === "r58" ? stored : "a4");
  buttons.forEach(function (button) {
    button.addEventListener("click", function () {
      var layout = button.getAttribute("data-layout");
      apply(layout);
      try { window.localStorage.setItem("kiosk.slipLayout", layout); } catch (e) { /* ignore */ }
    });
  });
  var next = document.getElementById("next-voter");
  window.addEventListener("afterprint", function () { if (next) { next.focus(); } });
  if (sheet.hasAttribute("data-autoprint")) {
    // Chromium started with --kiosk-printing prints straight to the default printer.
    window.setTimeout(function () { window.print(); if (next) { next.focus(); } }, 300);
  }
}
