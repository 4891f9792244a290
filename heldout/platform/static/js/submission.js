// Follows a submission until it is finished, without a reload: polls its small JSON status, and when the
// status (or the queue position) changes, fetches this page again and swaps in the freshly rendered part,
// so the page shows exactly what a reload would (scores, the error with its row and column, logs).
(function () {
  "use strict";
  const box = document.getElementById("submission");
  if (!box) return;
  const finished = ["scored", "failed", "error"];
  let shown = { status: box.dataset.status, position: box.dataset.position ? Number(box.dataset.position) : null };
  let delay = 1000;

  function refresh() {
    return fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("submission");
        if (!fresh) return;
        box.innerHTML = fresh.innerHTML;
        box.dataset.status = fresh.dataset.status;
        if (window.heldoutLocalTime) window.heldoutLocalTime(box);
        if (window.heldoutCharts) window.heldoutCharts(box);
        if (window.heldoutScrollboxes) window.heldoutScrollboxes(box);
      });
  }

  function schedule() {
    setTimeout(poll, delay);
    delay = Math.min(delay * 1.5, 5000);
  }

  function poll() {
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (s) {
        const now = { status: s.status, position: s.queue_position || null };
        const changed = now.status !== shown.status || now.position !== shown.position;
        shown = now;
        return (changed ? refresh() : Promise.resolve()).then(function () { return s; });
      })
      .then(function (s) { if (finished.indexOf(s.status) === -1) schedule(); })
      .catch(function () { delay = 5000; schedule(); });
  }

  if (finished.indexOf(box.dataset.status) === -1) schedule();
})();
