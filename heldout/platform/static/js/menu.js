// On a phone, the site's links fold behind a "Menu" button (the CSS hides them only once this has run,
// so without JavaScript every link stays in view).
(function () {
  "use strict";
  const toggle = document.querySelector(".site-header .menu-toggle");
  if (!toggle) return;
  const header = toggle.closest(".site-header");
  header.classList.add("has-menu");
  toggle.addEventListener("click", function () {
    const open = header.classList.toggle("menu-open");
    toggle.setAttribute("aria-expanded", String(open));
  });
})();
