// chiso: progressive enhancement only; every page works without this file.
// Live updates: the server's event stream says when something a page shows may have changed;
// the page then fetches itself again and swaps the parts marked data-live="<id>".
(function () {
  "use strict";
  var lang = document.documentElement.lang || "vi";
  var words = {
    vi: { updated: "Số liệu vừa được cập nhật", offline: "Mất kết nối, đang thử lại…" },
    en: { updated: "The figures have just been updated", offline: "Connection lost, retrying…" }
  }[lang === "en" ? "en" : "vi"];

  function say(text) {
    var box = document.getElementById("live-status");
    if (!box) return;
    box.textContent = text;
    box.classList.add("show");
    clearTimeout(say.timer);
    say.timer = setTimeout(function () { box.classList.remove("show"); }, 4000);
  }

  function refresh() {
    var parts = document.querySelectorAll("[data-live]");
    if (!parts.length) return;
    fetch(window.location.href, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        parts.forEach(function (el) {
          var fresh = doc.querySelector('[data-live="' + el.getAttribute("data-live") + '"]');
          if (fresh && fresh.innerHTML !== el.innerHTML) { el.innerHTML = fresh.innerHTML; }
        });
        document.dispatchEvent(new CustomEvent("chiso:refreshed"));
        say(words.updated);
      })
      .catch(function () {});
  }

  function listen() {
    if (!window.EventSource || !document.querySelector("[data-live]")) return;
    var source = new EventSource("/events");
    source.addEventListener("change", function (e) {
      document.body.setAttribute("data-last-change", e.data);
      refresh();
    });
    source.addEventListener("error", function () { say(words.offline); });
  }

  // Sortable tables: a header button sorts by its column (numbers as numbers, Vietnamese text by collation).
  function sortable(table) {
    table.setAttribute("data-sort-ready", "");
    var collator = new Intl.Collator(lang);
    table.querySelectorAll("th[data-sort]").forEach(function (th, index) {
      var button = th.querySelector("button");
      if (!button) return;
      button.addEventListener("click", function () {
        var col = Array.prototype.indexOf.call(th.parentNode.children, th);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var asc = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("th[aria-sort]").forEach(function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        rows.sort(function (a, b) {
          var x = a.cells[col].getAttribute("data-value") || a.cells[col].textContent.trim();
          var y = b.cells[col].getAttribute("data-value") || b.cells[col].textContent.trim();
          var nx = parseFloat(x), ny = parseFloat(y);
          var r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : collator.compare(x, y);
          return asc ? r : -r;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  // A filter's select sends its form when changed (the button stays for keyboards and no-JS).
  function autosubmit() {
    document.addEventListener("change", function (e) {
      var el = e.target;
      if (el && el.matches && el.matches("select[data-autosubmit]") && el.form) { el.form.submit(); }
    });
  }

  // Printing for a meeting: every folded table is printed open.
  function printOpen() {
    window.addEventListener("beforeprint", function () {
      document.querySelectorAll("details:not([open])").forEach(function (d) {
        d.setAttribute("open", ""); d.setAttribute("data-print-opened", "");
      });
    });
    window.addEventListener("afterprint", function () {
      document.querySelectorAll("details[data-print-opened]").forEach(function (d) {
        d.removeAttribute("open"); d.removeAttribute("data-print-opened");
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table[data-sortable]").forEach(sortable);
    document.addEventListener("chiso:refreshed", function () {
      document.querySelectorAll("table[data-sortable]:not([data-sort-ready])").forEach(sortable);
    });
    autosubmit();
    printOpen();
    listen();
  });
})();
