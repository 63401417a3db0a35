// Behaviour shared by every page; pages add theirs in their own files (no inline scripts: the
// Content-Security-Policy forbids them).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // A checkbox with data-qp-check-all="NAME" ticks or unticks every checkbox named NAME.
  document.body.addEventListener("change", (event) => {
    const master = event.target.closest("[data-qp-check-all]");
    if (!master) return;
    const name = master.getAttribute("data-qp-check-all");
    document.querySelectorAll(`input[type=checkbox][name="${name}"]`).forEach((box) => {
      box.checked = master.checked;
    });
  });
});
