/* drmodels console: live statuses without reloading (progressive enhancement; every page works without it).
   Elements with data-live-status="NAME" show a model's status; while any shows a status that is still
   changing, the statuses are read from /console/statuses every 1.5 s and written in place. An element
   with data-reload-when-done reloads the page once its model has finished, to show what it became.
   An element with data-live-part="URL" shows a job that runs (a migration, a source cleanup): every 1.5 s
   it is replaced by what URL answers, the same section rendered again by the server, until the section
   comes back without data-live-part (its job has ended). */
(function () {
  "use strict";
  var WORKING = ["IMPORTING", "MIGRATING", "DELETING"];
  var base = document.body.getAttribute("data-base") || "";

  function all(attr, name) {
    return Array.prototype.filter.call(document.querySelectorAll("[" + attr + "]"), function (n) {
      return name === undefined || n.getAttribute(attr) === name;
    });
  }

  function working() {
    return all("data-live-status").filter(function (n) {
      return WORKING.indexOf(n.textContent.trim()) >= 0;
    });
  }

  function show(model) {
    var reload = false;
    all("data-live-status", model.name).forEach(function (n) {
      if (n.textContent.trim() === model.status) return;
      n.textContent = model.status;
      n.className = "status s-" + model.status;
      if (WORKING.indexOf(model.status) < 0 && n.hasAttribute("data-reload-when-done")) reload = true;
    });
    all("data-live-code", model.name).forEach(function (n) { n.textContent = model.error_code || ""; });
    all("data-live-size", model.name).forEach(function (n) { n.textContent = model.size; });
    return reload;
  }

  function poll() {
    var live = working();
    if (!live.length) return;
    var query = live.map(function (n) {
      return "name=" + encodeURIComponent(n.getAttribute("data-live-status"));
    }).join("&");
    fetch(base + "/statuses?" + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { models: [] }; })
      .then(function (data) {
        var reload = data.models.map(show).some(Boolean);
        if (reload) window.location.reload();
        else window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }

  function follow() {
    var part = document.querySelector("[data-live-part]");
    if (!part) return;
    fetch(part.getAttribute("data-live-part"), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok && !r.redirected ? r.text() : null; })
      .then(function (html) {
        if (html !== null) part.outerHTML = html;
        window.setTimeout(follow, html === null ? 5000 : 1500);
      })
      .catch(function () { window.setTimeout(follow, 5000); });
  }

  window.setTimeout(poll, 1000);
  window.setTimeout(follow, 1000);
})();
