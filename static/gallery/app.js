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

// The image overlay: the detail view loads into a modal <dialog> (the same URL as its page).
// Escape closes it, the arrow keys move between images; without JavaScript the links navigate.
const overlay = () => document.getElementById("overlay");
const overlayOpen = () => Boolean(overlay() && overlay().open);
let overlayOpener = null;

document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target.id !== "overlay-content" || overlayOpen()) return;
  overlayOpener = document.activeElement;
  overlay().showModal();
  document.body.style.overflow = "hidden";
  const close = overlay().querySelector(".close-overlay");
  if (close) close.focus();
});

function closeOverlay() {
  overlay().close();
  document.getElementById("overlay-content").replaceChildren();
  document.body.style.overflow = "";
  history.back();
  if (overlayOpener && overlayOpener.isConnected) overlayOpener.focus();
}

function showImage(url) {
  if (!url) return;
  if (overlayOpen()) {
    htmx.ajax("GET", url, { target: "#overlay-content", swap: "innerHTML" }).then(() => {
      history.replaceState(history.state, "", url);
    });
  } else {
    window.location.href = url;
  }
}

document.addEventListener("click", (event) => {
  if (!overlayOpen()) return;
  if (event.target.closest(".close-overlay") || event.target === overlay()) {
    event.preventDefault();
    closeOverlay();
    return;
  }
  const step = event.target.closest("#overlay-content a[rel=prev], #overlay-content a[rel=next]");
  if (step) {
    event.preventDefault();
    showImage(step.getAttribute("href"));
  }
});

document.addEventListener("keydown", (event) => {
  const detail = document.getElementById("image-detail");
  if (!detail || event.target.closest("input, textarea, select")) return;
  if (event.key === "Escape") {
    event.preventDefault();  // the dialog would close itself without going back in history
    if (overlayOpen()) closeOverlay();
    else {
      const close = detail.querySelector(".close-overlay");
      if (close) window.location.href = close.href;
    }
  } else if (event.key === "ArrowLeft") {
    showImage(detail.dataset.newer);
  } else if (event.key === "ArrowRight") {
    showImage(detail.dataset.older);
  }
});

// "Copy prompt" buttons.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = "Copied";
  } catch {
    button.textContent = "Select and copy the prompt";
  }
});

// A form with data-confirm asks before it is sent (the Content-Security-Policy forbids inline
// onsubmit handlers). Without JavaScript the form is sent as it is.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
