// The challenge page's tabs. CSS alone shows the section named by the URL's #fragment (so the tabs work
// without JavaScript); this marks the current tab for screen readers and styling.
(function () {
  "use strict";
  const nav = document.querySelector("nav.tabs");
  const panels = document.querySelector(".tab-panels");
  if (!nav || !panels) return;

  function currentPanelId() {
    const id = decodeURIComponent(window.location.hash.slice(1));
    const panel = id && document.getElementById(id);
    if (panel && panel.parentElement === panels) return id;
    const first = panels.querySelector(".tab-panel");
    return first ? first.id : null;
  }

  function mark() {
    const id = currentPanelId();
    nav.querySelectorAll("a[href^='#']").forEach(function (link) {
      if (link.getAttribute("href") === "#" + id) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    });
  }

  window.addEventListener("hashchange", mark);
  mark();
})();
