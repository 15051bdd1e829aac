/* Searchable multi-selects with chips: a progressive enhancement of every <select multiple>.
 *
 * Without JavaScript the plain <select multiple> works as before. With it, the select is hidden (it stays
 * in the form and is what gets submitted) and replaced by: the chosen items as chips, each with a remove
 * button, and a text box that filters the other options.
 * Keyboard: type to filter, ArrowDown/ArrowUp to move, Enter to add, Escape to close, Backspace in the
 * empty box removes the last chip. Opt out with <select multiple data-no-chips>.
 * No inline styles (CSP): the look is in static/css/forms.css.
 */
(function () {
  "use strict";
  var counter = 0;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  function enhance(select) {
    if (select.dataset.chips === "on" || select.hasAttribute("data-no-chips")) return;
    select.dataset.chips = "on";
    var uid = select.id || "chips-" + (++counter);
    var box = el("div", "chips form-control" + (select.classList.contains("is-invalid") ? " is-invalid" : ""));
    var list = el("ul", "chips-list");
    var input = el("input", "chips-input");
    var options = el("ul", "chips-options");
    options.id = uid + "-options";
    options.setAttribute("role", "listbox");
    options.hidden = true;
    input.type = "text";
    input.id = uid + "-search";
    input.autocomplete = "off";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", options.id);
    input.placeholder = "Type to search…";
    ["aria-describedby", "aria-invalid", "form"].forEach(function (name) {
      if (select.hasAttribute(name)) input.setAttribute(name, select.getAttribute(name));
    });
    // Look near the select: htmx may enhance a swapped fragment before it is in the document.
    var scope = select.closest("form, tr, body") || select.getRootNode();
    var label = select.id ? scope.querySelector('label[for="' + CSS.escape(select.id) + '"]') : null;
    if (label) {
      label.htmlFor = input.id;
      // Short names of their own: the field's label names the search box only (get_by_label stays exact).
      list.setAttribute("aria-label", "Chosen");
      options.setAttribute("aria-label", "Suggestions");
    }
    box.appendChild(list);
    box.appendChild(input);
    var wrap = el("div", "chips-wrap");
    wrap.appendChild(box);
    wrap.appendChild(options);
    select.hidden = true;
    select.setAttribute("aria-hidden", "true");
    select.tabIndex = -1;
    select.insertAdjacentElement("afterend", wrap);

    var active = -1;

    function chosen() {
      return Array.prototype.filter.call(select.options, function (o) { return o.selected; });
    }

    function matches() {
      var query = input.value.trim().toLowerCase();
      return Array.prototype.filter.call(select.options, function (o) {
        return !o.selected && !o.disabled && (!query || o.text.toLowerCase().indexOf(query) !== -1);
      });
    }

    function changed() {
      select.dispatchEvent(new Event("change", { bubbles: true }));
      drawChips();
      drawOptions(!options.hidden);
    }

    function drawChips() {
      list.replaceChildren();
      chosen().forEach(function (option) {
        var chip = el("li", "chip", option.text);
        var remove = el("button", "chip-remove", "×");
        remove.type = "button";
        remove.setAttribute("aria-label", "Remove " + option.text);
        remove.addEventListener("click", function () {
          option.selected = false;
          changed();
          input.focus();
        });
        chip.appendChild(remove);
        list.appendChild(chip);
      });
    }

    function drawOptions(open) {
      var found = matches();
      options.replaceChildren();
      if (active >= found.length) active = found.length - 1;
      found.forEach(function (option, index) {
        var item = el("li", "chips-option" + (index === active ? " active" : ""), option.text);
        item.id = uid + "-opt-" + option.index;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", index === active ? "true" : "false");
        item.addEventListener("mousedown", function (evt) { evt.preventDefault(); });  // keep focus
        item.addEventListener("click", function () { add(option); });
        options.appendChild(item);
      });
      if (!found.length) {
        var none = el("li", "chips-empty", input.value.trim() ? "No match" : "Nothing left to add");
        options.appendChild(none);
      }
      options.hidden = !open;
      input.setAttribute("aria-expanded", open ? "true" : "false");
      if (open && active >= 0 && found[active]) {
        input.setAttribute("aria-activedescendant", uid + "-opt-" + found[active].index);
      } else {
        input.removeAttribute("aria-activedescendant");
      }
      return found;
    }

    function add(option) {
      option.selected = true;
      input.value = "";
      active = 0;
      changed();
      input.focus();
    }

    input.addEventListener("input", function () { active = 0; drawOptions(true); });
    input.addEventListener("focus", function () { active = 0; drawOptions(true); });
    input.addEventListener("blur", function () { active = -1; drawOptions(false); });
    input.addEventListener("keydown", function (evt) {
      var found = matches();
      if (evt.key === "ArrowDown" || evt.key === "ArrowUp") {
        evt.preventDefault();
        if (!found.length) return;
        var step = evt.key === "ArrowDown" ? 1 : -1;
        active = options.hidden ? 0 : (active + step + found.length) % found.length;
        drawOptions(true);
      } else if (evt.key === "Enter") {
        // Enter adds the highlighted match and never submits the form from this box.
        evt.preventDefault();
        var pick = found[active >= 0 ? active : 0];
        if (pick && !options.hidden) add(pick);
        else drawOptions(true);
      } else if (evt.key === "Escape") {
        if (!options.hidden) { evt.preventDefault(); drawOptions(false); }
      } else if (evt.key === "Backspace" && input.value === "") {
        var last = chosen().pop();
        if (last) { last.selected = false; changed(); }
      }
    });
    box.addEventListener("click", function (evt) { if (evt.target === box || evt.target === list) input.focus(); });
    select.form && select.form.addEventListener("reset", function () { setTimeout(drawChips, 0); });
    drawChips();
  }

  function enhanceAll(root) {
    var scope = root && root.querySelectorAll ? root : document;
    if (scope.matches && scope.matches("select[multiple]")) enhance(scope);
    scope.querySelectorAll("select[multiple]").forEach(enhance);
  }

  document.addEventListener("DOMContentLoaded", function () { enhanceAll(document); });
  document.addEventListener("htmx:load", function (evt) { enhanceAll(evt.detail.elt); });
})();
