// Shows every <time datetime="..."> in the reader's own time zone. The server writes UTC (what readers
// without JavaScript see); that text moves to the title, so hovering a time still shows it in UTC.
(function () {
  "use strict";
  const format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

  function localize(root) {
    (root || document).querySelectorAll("time[datetime]").forEach(function (el) {
      if (el.dataset.localized) return;
      const when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      if (!el.title) el.title = el.textContent.trim();
      el.textContent = format.format(when);
      el.dataset.localized = "1";
    });
  }

  // Pages that replace part of themselves call this on the new part.
  window.heldoutLocalTime = localize;
  localize(document);
})();
