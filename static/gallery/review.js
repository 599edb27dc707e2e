// Review (review-b): pick a comment's pin point on the image, and the compare page's synced
// zoom and pan. Delegated from document, so it works on pages htmx swaps in as well.
(() => {
  "use strict";

  // Pins: "Pin a point" arms the image's pin-surface; a click on it fills the form's x and y
  // (fractions of the image's width and height) and shows where the pin will go.
  const surfaceFor = (form) => form.closest("#image-detail, main")?.querySelector("[data-pin-surface]");

  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-pin-toggle]");
    if (toggle) {
      const form = toggle.closest("[data-pin-form]");
      const surface = form && surfaceFor(form);
      if (!surface) return;
      const arming = !surface.hasAttribute("data-pinning");
      surface.toggleAttribute("data-pinning", arming);
      toggle.setAttribute("aria-pressed", String(arming));
      const status = form.querySelector("[data-pin-status]");
      if (status && arming) status.textContent = "Click the image where the comment belongs.";
      return;
    }
    const surface = event.target.closest("[data-pin-surface][data-pinning]");
    if (!surface || event.target.closest(".pin-marker")) return;
    event.preventDefault();
    const image = surface.querySelector("img");
    const box = image.getBoundingClientRect();
    const x = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    const y = Math.min(1, Math.max(0, (event.clientY - box.top) / box.height));
    const form = surface.closest("#image-detail, main").querySelector("[data-pin-form]");
    form.querySelector("[data-pin-x]").value = x.toFixed(4);
    form.querySelector("[data-pin-y]").value = y.toFixed(4);
    let pending = surface.querySelector(".pin-marker.pending");
    if (!pending) {
      pending = document.createElement("span");
      pending.className = "pin-marker pending";
      pending.textContent = "+";
      pending.setAttribute("aria-hidden", "true");
      surface.append(pending);
    }
    pending.style.left = `${x * 100}%`;
    pending.style.top = `${y * 100}%`;
    surface.removeAttribute("data-pinning");
    form.querySelector("[data-pin-toggle]").setAttribute("aria-pressed", "false");
    const status = form.querySelector("[data-pin-status]");
    if (status) status.textContent = `Pinned at ${Math.round(x * 100)}% across, ${Math.round(y * 100)}% down.`;
    form.querySelector("textarea")?.focus();
  });

  // Compare: every pane shows its image with one shared transform (scale, then offset in
  // fractions of the pane), so zooming or dragging any pane moves all of them alike.
  const state = new WeakMap();
  const groupOf = (element) => element.closest("[data-compare]");
  const apply = (group) => {
    const { scale, x, y } = state.get(group);
    for (const pane of group.querySelectorAll(".compare-pane")) {
      const image = pane.querySelector("img");
      image.style.transform = `translate(${x * pane.clientWidth}px, ${y * pane.clientHeight}px) scale(${scale})`;
    }
    const label = group.querySelector("[data-zoom-level]");
    if (label) label.textContent = `${Math.round(scale * 100)}%`;
    group.dataset.scale = String(scale);
  };
  const ensure = (group) => {
    if (!state.has(group)) state.set(group, { scale: 1, x: 0, y: 0 });
    return state.get(group);
  };
  // Zoom by `factor` around the point (fx, fy) of the pane (fractions), keeping it in place.
  const zoom = (group, factor, fx = 0.5, fy = 0.5) => {
    const current = ensure(group);
    const scale = Math.min(8, Math.max(1, current.scale * factor));
    const ratio = scale / current.scale;
    current.x = fx - (fx - current.x) * ratio;
    current.y = fy - (fy - current.y) * ratio;
    current.scale = scale;
    if (scale === 1) { current.x = 0; current.y = 0; }
    apply(group);
  };

  document.addEventListener("wheel", (event) => {
    const pane = event.target.closest(".compare-pane");
    if (!pane) return;
    event.preventDefault();
    const box = pane.getBoundingClientRect();
    zoom(groupOf(pane), event.deltaY < 0 ? 1.2 : 1 / 1.2,
      (event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height);
  }, { passive: false });

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-zoom]");
    if (!button || !groupOf(button)) return;
    const group = groupOf(button);
    if (button.dataset.zoom === "reset") {
      state.set(group, { scale: 1, x: 0, y: 0 });
      apply(group);
    } else {
      zoom(group, button.dataset.zoom === "in" ? 1.5 : 1 / 1.5);
    }
  });

  let drag = null;
  document.addEventListener("pointerdown", (event) => {
    const pane = event.target.closest(".compare-pane");
    if (!pane) return;
    event.preventDefault();
    drag = { pane, group: groupOf(pane), lastX: event.clientX, lastY: event.clientY };
    ensure(drag.group);
  });
  document.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const current = state.get(drag.group);
    current.x += (event.clientX - drag.lastX) / drag.pane.clientWidth;
    current.y += (event.clientY - drag.lastY) / drag.pane.clientHeight;
    drag.lastX = event.clientX;
    drag.lastY = event.clientY;
    apply(drag.group);
  });
  document.addEventListener("pointerup", () => { drag = null; });
})();
