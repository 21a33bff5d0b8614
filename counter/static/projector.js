/* The room screen pages itself (a file, not inline: CSP script-src 'self').
 *
 * Nobody can scroll a projector in front of the meeting: when the persons do not fit under
 * the heading, they are split into pages that each fit the screen, measured in this
 * browser at its size (long names and posts take more room), and the pages follow each
 * other every data-page-seconds seconds; the arrow keys, Page Up/Down and the space bar turn
 * them by hand. "Trang x/y" says where the room is. Without this script the page scrolls
 * as a normal page, and printing always shows every person.
 */
(function () {
  "use strict";
  var list = document.getElementById("pj-list");
  var pager = document.getElementById("pj-pager");
  if (!list || !pager) {
    return;
  }
  var persons = Array.prototype.slice.call(list.querySelectorAll(".pj-person"));
  var seconds = Number(list.getAttribute("data-page-seconds")) || 12;
  var pages = [];
  var current = 0;
  var timer = null;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_m, key) { return String(values[key]); });
  }

  function show(index) {
    current = (index + pages.length) % pages.length;
    persons.forEach(function (person) { person.hidden = true; });
    pages[current].forEach(function (person) { person.hidden = false; });
    var first = Number(pages[current][0].getAttribute("data-person"));
    var last = Number(pages[current][pages[current].length - 1].getAttribute("data-person"));
    pager.textContent = fill(pager.getAttribute("data-text"), {
      page: current + 1, pages: pages.length, first: first, last: last, total: persons.length
    });
    list.setAttribute("data-page", String(current + 1));
  }

  function restart() {
    if (timer) { window.clearInterval(timer); }
    timer = pages.length > 1 ? window.setInterval(function () { show(current + 1); }, seconds * 1000) : null;
  }

  function layout() {
    document.body.classList.remove("pj-paged");
    persons.forEach(function (person) { person.hidden = false; });
    pager.hidden = true;
    if (document.documentElement.scrollHeight <= window.innerHeight) {
      pages = [persons];
      list.setAttribute("data-pages", "1");
      restart();
      return;
    }
    document.body.classList.add("pj-paged");
    pager.hidden = false;
    pager.textContent = "Trang 1/1";  // its height counts in what is left for the persons
    var room = window.innerHeight - pager.getBoundingClientRect().height - list.getBoundingClientRect().top;
    pages = [];
    var page = [];
    var used = 0;
    persons.forEach(function (person) {
      var height = person.getBoundingClientRect().height;
      if (page.length && used + height > room) {
        pages.push(page);
        page = [];
        used = 0;
      }
      page.push(person);
      used += height;
    });
    if (page.length) { pages.push(page); }
    list.setAttribute("data-pages", String(pages.length));
    show(Math.min(current, pages.length - 1));
    pager.hidden = pages.length < 2;  // the compact heading alone made it fit
    restart();
  }

  var resizing = null;
  window.addEventListener("resize", function () {
    if (resizing) { window.clearTimeout(resizing); }
    resizing = window.setTimeout(layout, 200);
  });
  document.addEventListener("keydown", function (event) {
    if (pages.length < 2) { return; }
    var forward = ["ArrowRight", "ArrowDown", "PageDown", " "].indexOf(event.key) >= 0;
    var back = ["ArrowLeft", "ArrowUp", "PageUp"].indexOf(event.key) >= 0;
    if (!forward && !back) { return; }
    event.preventDefault();
    show(current + (forward ? 1 : -1));
    restart();
  });
  window.addEventListener("beforeprint", function () { persons.forEach(function (p) { p.hidden = false; }); });
  window.addEventListener("afterprint", function () { show(current); });
  layout();
}());
