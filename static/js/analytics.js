// Analytics charts. Data comes from <script type="application/json"> islands next to each canvas
// (CSP is script-src 'self': no inline code). Charts are rebuilt after htmx swaps and history restores.
(function () {
  "use strict";

  var PALETTE = ["#1f5f4a", "#d9a441", "#5b6fb5", "#c4573a", "#3a8f6f", "#8a5bb5", "#7a8a84", "#e07b9a"];
  var STATUS_COLOURS = { Valid: "#2e8b57", Expiring: "#d9a441", Expired: "#8a8f8c", Revoked: "#c4573a" };
  var FILTERS = ["from", "to", "certification", "department", "category"];

  function reducedMotion() {
    return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  function config(spec) {
    var doughnut = spec.type === "doughnut";
    var datasets = spec.datasets.map(function (ds, i) {
      var colour = PALETTE[i % PALETTE.length];
      var colours = doughnut ? spec.labels.map(function (label, j) {
        return STATUS_COLOURS[label] || PALETTE[j % PALETTE.length];
      }) : colour;
      return {
        label: ds.label, data: ds.data, backgroundColor: colours, borderColor: doughnut ? "#fff" : colour,
        borderWidth: doughnut ? 2 : (spec.type === "line" ? 2 : 0), tension: 0.25, pointRadius: 3
      };
    });
    var valueAxis = { beginAtZero: true, ticks: { precision: 0 } };
    if (spec.percent) {
      valueAxis.max = 100;
      valueAxis.ticks = { callback: function (value) { return value + "%"; } };
    }
    var options = {
      responsive: true, maintainAspectRatio: false, animation: reducedMotion() ? false : { duration: 300 },
      plugins: { legend: { display: doughnut || datasets.length > 1, position: "bottom" } }
    };
    if (!doughnut) {
      options.indexAxis = spec.horizontal ? "y" : "x";
      options.scales = spec.horizontal ? { x: valueAxis } : { y: valueAxis };
    }
    return { type: spec.type, data: { labels: spec.labels, datasets: datasets }, options: options };
  }

  function build(canvas) {
    if (!window.Chart || window.Chart.getChart(canvas)) return;
    var island = document.getElementById(canvas.getAttribute("data-chart"));
    if (!island) return;
    try {
      new window.Chart(canvas, config(JSON.parse(island.textContent)));
    } catch (err) {
      if (window.console) window.console.warn("analytics chart failed", err);
    }
  }

  function initAll() {
    document.querySelectorAll("canvas[data-chart]").forEach(build);
  }

  function destroyAll(root) {
    if (!window.Chart || !root || !root.querySelectorAll) return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var chart = window.Chart.getChart(canvas);
      if (chart) chart.destroy();
      // Chart.js sizes the canvas through element.style: drop it so a history snapshot holds no
      // style="" attribute (CSP style-src 'self' would refuse it on restore).
      canvas.removeAttribute("style");
      canvas.removeAttribute("width");
      canvas.removeAttribute("height");
    });
  }

  // After back/forward, show the filters of the URL we are on (the snapshot may hold other values).
  function syncForm() {
    var form = document.getElementById("analytics-filters");
    if (!form) return;
    var params = new URLSearchParams(window.location.search);
    FILTERS.forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (field) field.value = params.get(name) || "";
    });
  }

  document.addEventListener("DOMContentLoaded", initAll);
  document.addEventListener("htmx:beforeSwap", function (evt) { destroyAll(evt.detail.target); });
  document.addEventListener("htmx:beforeHistorySave", function () {
    destroyAll(document);
    // Empty style="" attributes (left by scripts and the browser's form autofill) would also be refused
    // by the CSP when htmx restores the snapshot; they carry nothing, so drop them.
    document.querySelectorAll('[style=""]').forEach(function (el) { el.removeAttribute("style"); });
  });
  document.addEventListener("htmx:afterSettle", initAll);
  document.addEventListener("htmx:afterRequest", initAll);
  document.addEventListener("htmx:historyRestore", function () { syncForm(); initAll(); });

  // A figure the page left to htmx failed to load: say so in its card and offer a retry.
  function showFailure(evt) {
    var card = evt.detail.elt;
    if (!card || !card.hasAttribute || !card.hasAttribute("data-figure-placeholder")) return;
    var status = card.querySelector("[data-figure-status]");
    if (!status) return;
    var code = evt.detail.xhr ? evt.detail.xhr.status : 0;
    status.textContent = code ? "Could not compute this figure (HTTP " + code + "). "
                              : "Could not reach the server. ";
    status.setAttribute("role", "alert");
    card.setAttribute("aria-busy", "false");
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "btn btn-sm btn-outline-secondary ms-1";
    retry.textContent = "Retry";
    retry.addEventListener("click", function () {
      status.textContent = "Computing…";
      card.setAttribute("aria-busy", "true");
      window.htmx.trigger(card, "retry");
    });
    status.appendChild(retry);
  }
  document.addEventListener("htmx:responseError", showFailure);
  document.addEventListener("htmx:sendError", showFailure);

  // Keep pushed URLs short and shareable: leave blank filters out of the query string.
  document.addEventListener("htmx:configRequest", function (evt) {
    if (!evt.detail.elt || evt.detail.elt.id !== "analytics-filters") return;
    var params = evt.detail.parameters;
    FILTERS.forEach(function (name) {
      if (params[name] === "" || params[name] === undefined) delete params[name];
    });
  });
})();
