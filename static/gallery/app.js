// Atelier's small bits of behaviour that htmx does not cover. Everything works without it.
"use strict";

document.documentElement.classList.add("js");

// Say something to screen readers (the #announcer live region in base.html).
function announce(text) {
  const announcer = document.getElementById("announcer");
  if (!announcer) return;
  announcer.textContent = "";
  // A fresh text node after a tick is read even when the words repeat.
  setTimeout(() => { announcer.textContent = text; }, 50);
}

// Focus stays where the person is. An htmx swap (the generate form after Generate, the favourite
// button, a polled card, the overlay's next image) replaces the focused element and focus would
// fall to <body>: it goes to the element that took its place instead.
let lastFocused = null;
let lastFocusKey = null;

function focusKey(element) {
  if (element.id) return { selector: `#${CSS.escape(element.id)}` };
  const form = element.form || element.closest("form");
  if (element.name && form && form.id) {
    return { selector: `#${CSS.escape(form.id)} [name="${CSS.escape(element.name)}"]` };
  }
  const holder = element.parentElement && element.parentElement.closest("[id]");
  if (!holder) return null;
  const focusables = [...holder.querySelectorAll(FOCUSABLE)];
  return { holder: holder.id, index: focusables.indexOf(element) };
}

const FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])";

function findByKey(key) {
  if (!key) return null;
  if (key.selector) return document.querySelector(key.selector);
  const holder = document.getElementById(key.holder);
  if (!holder || key.index < 0) return null;
  return holder.querySelectorAll(FOCUSABLE)[key.index] || null;
}

document.addEventListener("focusin", (event) => {
  lastFocused = event.target;
  lastFocusKey = focusKey(event.target);
});

function focusLost() {
  const active = document.activeElement;
  return !active || active === document.body || !active.isConnected;
}

function restoreFocus(fallback) {
  if (!lastFocused || lastFocused.isConnected || !focusLost()) return;
  const replacement = findByKey(lastFocusKey) || (fallback && fallback());
  if (replacement) replacement.focus({ preventScroll: true });
}
document.addEventListener("htmx:afterSettle", () => restoreFocus());

// Menus in the header (<details>): Escape closes the open one and returns to its button; a click
// elsewhere closes it too.
function closeMenus(except) {
  document.querySelectorAll("details.menu[open]").forEach((menu) => {
    if (menu !== except) menu.open = false;
  });
}
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const menu = (event.target.closest && event.target.closest("details.menu[open]"))
    || document.querySelector("details.menu[open]");
  if (!menu) return;
  event.preventDefault();
  event.stopPropagation();
  menu.open = false;
  menu.querySelector("summary").focus();
}, true);
document.addEventListener("click", (event) => closeMenus(event.target.closest("details.menu")));

// The generate form: Ctrl+Enter (Cmd+Enter on a Mac) in the prompt generates; Enter in any
// other field generates too (Generate is the form's default button).
document.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
  const form = event.target.closest && event.target.closest("#generate-form");
  if (!form) return;
  event.preventDefault();
  form.requestSubmit(form.querySelector("#generate-submit"));
});

// A new generation's card is shown where the person can see it (on a phone the form fills the
// screen and the card would appear below it), and said.
document.addEventListener("htmx:afterSettle", (event) => {
  if (event.detail.target.id !== "generation-list" || !event.detail.xhr) return;
  if (!/\/generate\/$/.test(event.detail.requestConfig && event.detail.requestConfig.path || "")) return;
  const card = event.detail.target.querySelector(".generation-card");
  if (!card) return;
  const box = card.getBoundingClientRect();
  if (box.top < 0 || box.top > window.innerHeight - 80) {
    const smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    card.scrollIntoView({ block: "nearest", behavior: smooth ? "smooth" : "auto" });
  }
  announce(card.dataset.announce || "Generating.");
});

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
let overlayOpenerKey = null;

document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target.id !== "overlay-content" || overlayOpen()) return;
  const opener = event.detail.requestConfig && event.detail.requestConfig.elt;
  const tile = opener && opener.closest && opener.closest(".tile[id]");
  // The tile's link, found again by its tile's id (a grid re-render replaces the element).
  overlayOpenerKey = tile ? { selector: `#${CSS.escape(tile.id)} a` } : focusKey(document.activeElement || document.body);
  overlay().showModal();
  document.body.style.overflow = "hidden";
  const close = overlay().querySelector(".close-overlay");
  if (close) close.focus();
});

function hideOverlay() {
  overlay().close();
  document.getElementById("overlay-content").replaceChildren();
  document.body.style.overflow = "";
  const opener = findByKey(overlayOpenerKey);
  if (opener) opener.focus();
}

function closeOverlay() {
  // Back to the grid's URL; the popstate listener below hides the overlay.
  history.back();
}

// Going back (Escape, Close or the browser's Back button) from an image opened in the overlay
// only closes the overlay: htmx would otherwise restore a snapshot of the whole page, losing
// what the person ticked and where their focus was.
window.addEventListener("popstate", (event) => {
  if (!overlayOpen()) return;
  event.stopImmediatePropagation();
  hideOverlay();
}, true);

function showImage(url) {
  if (!url) return;
  if (overlayOpen()) {
    htmx.ajax("GET", url, { target: "#overlay-content", swap: "innerHTML" }).then(() => {
      history.replaceState(history.state, "", url);
      // The key pressed or the button used is found again in the new image's detail.
      restoreFocus(() => overlay().querySelector(".close-overlay"));
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
