/* Show a field only for the value of another field it belongs to: a progressive enhancement.
 *
 *   <div data-show-for="auth_type:basic">...password...</div>
 *   <div data-show-for="location:s3 other">...</div>      (several values, space-separated)
 *
 * The controlling field is the form's element with that name (a select or radio buttons). Without
 * JavaScript every field shows; with it, the others get `hidden` (and their inputs `disabled`, so they
 * are not sent; the server ignores them anyway: app/services/integrations/settings.py AUTH_FIELDS).
 */
(function () {
  "use strict";

  function valueOf(form, name) {
    var control = form.elements.namedItem(name);
    if (!control) return null;
    if (control instanceof RadioNodeList) return control.value;
    return control.value;
  }

  function apply(form) {
    form.querySelectorAll("[data-show-for]").forEach(function (box) {
      var spec = box.getAttribute("data-show-for");
      var name = spec.split(":")[0];
      var wanted = spec.slice(name.length + 1).split(/\s+/);
      var value = valueOf(form, name);
      if (value === null) return;
      var show = wanted.indexOf(value) !== -1;
      box.hidden = !show;
      box.querySelectorAll("input, select, textarea").forEach(function (input) { input.disabled = !show; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form").forEach(function (form) {
      if (!form.querySelector("[data-show-for]")) return;
      apply(form);
      form.addEventListener("change", function () { apply(form); });
    });
  });
})();
