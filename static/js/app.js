// Laurel's small behaviours. No inline scripts anywhere: CSP is script-src 'self'.
(function () {
  "use strict";

  function toast(message, kind) {
    var area = document.getElementById("toast-area");
    if (!area) return;
    var el = document.createElement("div");
    el.className = "toast align-items-center text-bg-" + (kind || "danger") + " border-0 show";
    el.setAttribute("role", "alert");
    var body = document.createElement("div");
    body.className = "d-flex";
    var text = document.createElement("div");
    text.className = "toast-body";
    text.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close btn-close-white me-2 m-auto";
    close.setAttribute("aria-label", "Close");
    close.addEventListener("click", function () { el.remove(); });
    body.appendChild(text);
    body.appendChild(close);
    el.appendChild(body);
    area.appendChild(el);
    setTimeout(function () { el.remove(); }, 8000);
  }
  window.laurelToast = toast;

  // htmx errors are never silent: show what the server said.
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var message = "The request failed (" + xhr.status + ").";
    try {
      var problem = JSON.parse(xhr.responseText);
      if (problem.detail) message = problem.detail;
    } catch (e) {
      if (xhr.status === 403) message = "You are not allowed to do that.";
      if (xhr.status === 400) message = "The page expired. Reload and try again.";
      if (xhr.status === 409) message = "That changed meanwhile. Reload to see the latest.";
      if (xhr.status === 429) message = "Too many requests. Wait a moment.";
    }
    toast(message, "danger");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("Could not reach the server. Check your connection.", "warning");
  });

  // Copy buttons: <button data-copy="text"> or data-copy-target="#id".
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest("[data-copy], [data-copy-target]");
    if (!button) return;
    var value = button.getAttribute("data-copy");
    if (!value) {
      var target = document.querySelector(button.getAttribute("data-copy-target"));
      value = target ? (target.value || target.textContent) : "";
    }
    var done = function () { toast("Copied to the clipboard.", "success"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(value.trim()).then(done, function () { toast("Copy failed: select and copy by hand."); });
    } else {
      var area = document.createElement("textarea");
      area.value = value.trim();
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy"); done(); } catch (e) { toast("Copy failed: select and copy by hand."); }
      area.remove();
    }
  });

  // Forms and buttons that need a confirmation: data-confirm="Question?" (no inline handlers).
  document.addEventListener("submit", function (evt) {
    var message = evt.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) evt.preventDefault();
  }, true);

  // Auto-submit filter forms: <form data-autosubmit> submits (via htmx if wired) on change.
  document.addEventListener("change", function (evt) {
    var form = evt.target.closest("form[data-autosubmit]");
    if (form && !evt.target.matches("[data-no-autosubmit]")) form.requestSubmit();
  });

  // "Last updated 14:05 UTC" stamps are rendered by the server (app/rules/display.py): no browser-locale
  // rewrite, so every page shows one 24 h format with its zone.

  // Live parts of a page ([data-live-refresh], refreshed by `sse:<topic>` or their timer) re-read the
  // page's current address, so filters and the page number a user chose stay as they are. A part the
  // user is working in (focus inside it: an open edit row, a half-typed field) is left alone.
  // <body data-live="open|closed">: whether the stream is connected (tests wait for it; CSS may show it).
  document.addEventListener("htmx:sseOpen", function () { document.body.setAttribute("data-live", "open"); });
  document.addEventListener("htmx:sseError", function () { document.body.setAttribute("data-live", "closed"); });
  document.addEventListener("htmx:configRequest", function (evt) {
    var elt = evt.detail.elt;
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-live-refresh")) return;
    if (elt.contains(document.activeElement)) { evt.preventDefault(); return; }
    // Rows ticked for a bulk action (the certificates' expiry form) stay until the action is done.
    if (elt.querySelector("input[data-select]:checked")) { evt.preventDefault(); return; }
    evt.detail.path = window.location.pathname + window.location.search;
  });
})();
