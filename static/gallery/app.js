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
  // How to find the element again once a swap has replaced it: by its id or its name in its
  // form, else (and failing that) by its place among the focusable elements of its nearest
  // ancestor with an id (e.g. Cancel in a queue row becomes Retry in the same place).
  const key = {};
  if (element.id) key.selector = `#${CSS.escape(element.id)}`;
  const form = element.form || element.closest("form");
  if (!key.selector && element.name && form && form.id) {
    key.selector = `#${CSS.escape(form.id)} [name="${CSS.escape(element.name)}"]`;
  }
  const holder = element.parentElement && element.parentElement.closest("[id]");
  if (holder) {
    key.holder = holder.id;
    key.index = [...holder.querySelectorAll(FOCUSABLE)].indexOf(element);
  }
  return key;
}

const FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])";

function findByKey(key) {
  if (!key) return null;
  const found = key.selector && document.querySelector(key.selector);
  if (found) return found;
  const holder = key.holder && document.getElementById(key.holder);
  if (!holder) return null;
  const focusables = holder.querySelectorAll(FOCUSABLE);
  return focusables[Math.max(0, Math.min(key.index, focusables.length - 1))] || null;
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

// The queue tray. A new generation's row is shown where the person can see it (on a phone the
// form fills the screen), and said; a row that has finished is said, its images slide into the
// grid and it leaves the tray; a dismissed row keeps its Undo for a while.
const QUEUE_DONE_LINGER_MS = 4000;
const QUEUE_DISMISSED_LINGER_MS = 10000;

function updateQueueSummary() {
  const summary = document.getElementById("queue-summary");
  if (!summary) return;
  const parts = ["running", "queued", "failed"].map((status) => {
    const count = document.querySelectorAll(`#queue-list .queue-item[data-status="${status}"]`).length;
    if (!count) return null;
    const part = document.createElement("span");
    part.textContent = `${count} ${summary.dataset[status]}`;
    return part;
  }).filter(Boolean);
  summary.replaceChildren(...parts);
}

function removeLater(item, delay) {
  setTimeout(() => {
    if (!item.isConnected) return;
    if (item.contains(document.activeElement)) {
      // Focus moves on with it: to the next row, else the newest image, else Generate.
      const neighbour = item.nextElementSibling || item.previousElementSibling;
      const next = (neighbour && neighbour.querySelector(FOCUSABLE))
        || document.querySelector("#grid .tile a") || document.getElementById("generate-submit");
      if (next) next.focus({ preventScroll: true });
    }
    item.remove();
    updateQueueSummary();
  }, delay);
}

function liveGrid() {
  return document.querySelector("#gallery-results[data-live]");
}

function placeArrivedTiles(item) {
  const template = item.querySelector("template.arrived-tiles");
  if (!template) return;
  template.remove();
  const results = liveGrid();
  if (!results) return;  // a search or a later page: the new images are not part of it
  const grid = results.querySelector("#grid");
  if (!grid) {
    // The first images ever (or the first in this view): fetch the grid as a whole.
    htmx.ajax("GET", window.location.pathname, { target: "#gallery-results", swap: "outerHTML" });
    return;
  }
  const fragment = document.createDocumentFragment();
  template.content.querySelectorAll(".tile").forEach((tile) => {
    if (document.getElementById(tile.id)) return;
    tile.classList.add("arrived");
    fragment.append(tile);
  });
  grid.prepend(fragment);
  htmx.process(grid);
}

function settleQueueItem(item, fresh) {
  // htmx sends afterSettle once per swapped element (the form swapped out of band too).
  if (item.dataset.settled) return;
  item.dataset.settled = "1";
  const status = item.dataset.status;
  if (status === "dismissed") {
    const undo = item.querySelector("button");
    if (undo && focusLost()) undo.focus({ preventScroll: true });
    removeLater(item, QUEUE_DISMISSED_LINGER_MS);
  } else if (status === "succeeded" || status === "partial") {
    placeArrivedTiles(item);
    item.classList.add("is-done");
    removeLater(item, QUEUE_DONE_LINGER_MS);
  }
  if (fresh && item.dataset.announce) announce(item.dataset.announce);
}

document.addEventListener("htmx:afterSettle", (event) => {
  const target = event.detail.target;
  if (!target || !event.detail.xhr) return;
  if (target.id === "queue-list") {
    // Generate: the new row went on top of the list.
    const item = target.querySelector(".queue-item");
    if (!item || item.dataset.settled) return;
    const box = item.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) {
      const smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      item.scrollIntoView({ block: "nearest", behavior: smooth ? "smooth" : "auto" });
    }
    settleQueueItem(item, true);
  } else if (target.classList && target.classList.contains("queue-item")) {
    // htmx settles the element it swapped out; the new row has the same id.
    const item = document.getElementById(target.id);
    if (item) settleQueueItem(item, true);
  } else {
    return;
  }
  updateQueueSummary();
});

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

// Search as you type, but not while an input method is composing: pinyin ("nihao") on its way
// to 你好 is not a query. htmx listens on the search box itself; this listener, capturing on
// the document, runs first and holds back the input events of a composition, then sends one
// input event when the composed text is committed.
document.addEventListener("input", (event) => {
  if (event.target.id === "search-q" && event.isComposing) event.stopImmediatePropagation();
}, true);
document.addEventListener("compositionend", (event) => {
  if (event.target.id !== "search-q") return;
  event.target.dispatchEvent(new Event("input", { bubbles: true }));
});

// "Copy prompt" buttons.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = gettext("Copied");
  } catch {
    button.textContent = gettext("Select and copy the prompt");
  }
});

// A form with data-confirm asks before it is sent (the Content-Security-Policy forbids inline
// onsubmit handlers). Without JavaScript the form is sent as it is.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
