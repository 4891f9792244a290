// Tables, formulas and code too wide for the screen scroll sideways in their own box (.table-wrap,
// .math-display, pre).
// A box that does scroll is made reachable by keyboard and named, so it can be scrolled without a mouse;
// one that fits stays out of the tab order.
(function () {
  "use strict";
  function label(box) {
    if (box.classList.contains("math-display")) return "Formula (scrolls sideways)";
    if (box.tagName === "PRE") return "Code (scrolls sideways)";
    const caption = box.querySelector("caption");
    const text = caption ? caption.textContent.trim() : "";
    return (text || "Table") + " (scrolls sideways)";
  }

  function mark(root) {
    const named = {};  // label -> the scrolling boxes that carry it
    (root || document).querySelectorAll(".table-wrap, .math-display, main pre").forEach(function (box) {
      const scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && (!box.hasAttribute("tabindex") || box.hasAttribute("data-scroll-label"))) {
        const name = label(box);
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("data-scroll-label", name);
        (named[name] = named[name] || []).push(box);
      } else if (!scrolls && box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
        box.removeAttribute("data-scroll-label");
      }
    });
    // Regions need names of their own: two code blocks become "Code (scrolls sideways), 1 of 2" and "2 of 2".
    Object.keys(named).forEach(function (name) {
      const boxes = named[name];
      boxes.forEach(function (box, i) {
        box.setAttribute("aria-label", boxes.length > 1 ? name + ", " + (i + 1) + " of " + boxes.length : name);
      });
    });
  }

  window.heldoutScrollboxes = mark;
  mark(document);
  let pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () { mark(document); }, 150);
  });
  // Tabs show one section at a time: measure a section when it appears.
  window.addEventListener("hashchange", function () { mark(document); });
})();
