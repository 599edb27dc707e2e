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

// A pending generation's card shows a running elapsed time between its polls.
function tickElapsed() {
  const now = Date.now() / 1000;
  document.querySelectorAll("time[data-since]").forEach((el) => {
    const seconds = Math.max(0, Math.round(now - Number(el.dataset.since)));
    el.textContent = seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  });
}
setInterval(tickElapsed, 1000);
