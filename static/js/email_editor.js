// Admin > Emails: insert placeholders, and refresh the HTML preview (a sandboxed iframe) as the admin
// types, by posting the form into the iframe. The subject and text part refresh through htmx.
(function () {
  "use strict";
  var form = document.getElementById("email-text-form");
  var button = document.getElementById("email-preview-button");
  if (!form || !button) return;

  var timer = null;
  function refresh() {
    clearTimeout(timer);
    timer = setTimeout(function () { form.requestSubmit(button); }, 500);
  }
  form.addEventListener("input", refresh);

  var target = form.querySelector("textarea");
  form.addEventListener("focusin", function (evt) {
    if (evt.target.matches("input[type=text], textarea")) target = evt.target;
  });
  form.querySelectorAll("[data-insert]").forEach(function (insert) {
    insert.addEventListener("click", function () {
      if (!target) return;
      target.setRangeText(insert.dataset.insert, target.selectionStart, target.selectionEnd, "end");
      target.focus();
      target.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });
  refresh(); // show the text in the form (the saved one, or the starting point), not the file template
})();
