// Languages and time zones (gallery/i18n.py). Words shown by scripts come from the catalogue
// loaded before this file (/jsi18n/<language>.js: gettext(), ngettext(), interpolate()).
"use strict";

// A signed-in user with no time zone stored yet: tell the server the browser's, once.
document.addEventListener("DOMContentLoaded", () => {
  const url = document.body.dataset.timeZoneUrl;
  if (!url) return;
  let zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch {
    return;
  }
  if (!zone) return;
  let token = "";
  try {
    token = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || "";
  } catch {
    token = "";
  }
  fetch(url, {
    method: "POST",
    headers: { "X-CSRFToken": token },
    body: new URLSearchParams({ time_zone: zone }),
    credentials: "same-origin",
  }).then((response) => {
    if (response.ok) delete document.body.dataset.timeZoneUrl;
  }).catch(() => {});
});
