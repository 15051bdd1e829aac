/* "Check a file" on the verify page: drop a file on the zone (or click it to choose one) and the form is
   sent at once; htmx puts the answer below. Without JavaScript the plain file input and button work. */
(function () {
  "use strict";

  function setUp(form) {
    var zone = form.querySelector("[data-drop-zone]");
    var input = form.querySelector("input[type=file]");
    var name = form.querySelector("[data-drop-name]");
    if (!zone || !input) return;
    zone.classList.add("js-ready");
    form.classList.add("js-drop");

    function send() {
      if (name) name.textContent = input.files.length ? input.files[0].name : "";
      if (input.files.length) {
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      }
    }

    input.addEventListener("change", send);
    // Pasting means "check this text": forget a file chosen before (the server checks a file first).
    var text = form.querySelector("textarea[name=text]");
    if (text) {
      text.addEventListener("input", function () {
        input.value = "";
        if (name) name.textContent = "";
      });
    }
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (evt) {
        evt.preventDefault();
        zone.classList.add("is-dragging");
      });
    });
    ["dragleave", "dragend"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("is-dragging"); });
    });
    zone.addEventListener("drop", function (evt) {
      evt.preventDefault();
      zone.classList.remove("is-dragging");
      var files = evt.dataTransfer && evt.dataTransfer.files;
      if (!files || !files.length) return;
      var chosen = new DataTransfer();
      chosen.items.add(files[0]);
      input.files = chosen.files;
      send();
    });
    zone.addEventListener("keydown", function (evt) {
      if (evt.key === "Enter" || evt.key === " ") {
        evt.preventDefault();
        input.click();
      }
    });
    zone.setAttribute("tabindex", "0");
    zone.setAttribute("role", "button");
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-verify-drop]").forEach(setUp);
  });

  // The answer arrived: bring it into view and move the focus there (screen readers announce it too).
  document.addEventListener("htmx:afterSwap", function (evt) {
    var target = evt.detail.target;
    if (target && target.id === "file-verdict") {
      target.scrollIntoView({ behavior: "smooth", block: "start" });
      target.focus({ preventScroll: true });
    }
  });
})();
