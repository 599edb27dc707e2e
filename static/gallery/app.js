// Atelier's small bits of behaviour that htmx does not cover. Everything works without it.
"use strict";

// Messages fade out after a while, except those with an action (e.g. Undo) the user may want.
function settleToasts(root) {
  root.querySelectorAll(".toast:not([data-sticky])").forEach((toast) => {
    if (toast.dataset.timer) return;
    toast.dataset.timer = "1";
    setTimeout(() => toast.remove(), 6000);
  });
}
document.addEventListener("DOMContentLoaded", () => settleToasts(document));
document.addEventListener("htmx:afterSettle", (event) => settleToasts(event.target.ownerDocument || document));
