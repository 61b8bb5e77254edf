// The wall screen (/wall): show its screens one after the other every data-interval
// seconds, fetch fresh figures every data-refresh seconds and swap them in; when the server
// cannot be reached, keep cycling what is there and say since when. Arrow keys step,
// the space bar pauses. Nothing is loaded from another host.
(function () {
  "use strict";
  var body, panels, index = 0, timer = null, paused = false;

  function show(i) {
    panels = Array.prototype.slice.call(document.querySelectorAll("[data-wall-panel]"));
    if (!panels.length) return;
    index = (i + panels.length) % panels.length;
    panels.forEach(function (p, k) { p.classList.toggle("shown", k === index); });
    document.querySelectorAll("[data-dot]").forEach(function (d) {
      d.classList.toggle("on", d.getAttribute("data-dot") === panels[index].getAttribute("data-wall-panel"));
    });
    body.setAttribute("data-screen", panels[index].getAttribute("data-wall-panel"));
  }

  function schedule() {
    clearInterval(timer);
    var seconds = parseInt(body.getAttribute("data-interval"), 10) || 20;
    timer = setInterval(function () { if (!paused) show(index + 1); }, seconds * 1000);
  }

  function offline(on) {
    var box = document.querySelector("[data-wall-offline]");
    var stamp = document.querySelector("[data-wall-stamp]");
    if (!box) return;
    if (on) {
      box.textContent = body.getAttribute("data-offline-text").replace("{time}", stamp ? stamp.getAttribute("data-time") : "");
      box.hidden = false;
      body.classList.add("offline");
    } else {
      box.hidden = true;
      body.classList.remove("offline");
    }
  }

  function refresh() {
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" }, cache: "no-store" })
      .then(function (r) { return r.ok && !r.redirected ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-wall-panel]").forEach(function (el) {
          var fresh = doc.querySelector('[data-wall-panel="' + el.getAttribute("data-wall-panel") + '"]');
          if (fresh) el.innerHTML = fresh.innerHTML;
        });
        var stamp = document.querySelector("[data-wall-stamp]"), newStamp = doc.querySelector("[data-wall-stamp]");
        if (stamp && newStamp) {
          stamp.textContent = newStamp.textContent;
          stamp.setAttribute("data-time", newStamp.getAttribute("data-time"));
        }
        body.setAttribute("data-refreshed", String(Date.now()));
        offline(false);
      })
      .catch(function () { offline(true); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    body = document.body;
    show(0);
    schedule();
    var every = parseInt(body.getAttribute("data-refresh"), 10) || 60;
    setInterval(refresh, every * 1000);
    document.addEventListener("keydown", function (e) {
      if (e.key === "ArrowRight") { show(index + 1); schedule(); }
      else if (e.key === "ArrowLeft") { show(index - 1); schedule(); }
      else if (e.key === " ") { paused = !paused; body.classList.toggle("paused", paused); e.preventDefault(); }
    });
  });
})();
