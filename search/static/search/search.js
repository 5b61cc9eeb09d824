/* The search page: suggestions while typing (debounced, keyboard-friendly), and facet
 * checkboxes / the sort menu that apply at once. Vanilla JS, no library, no CDN. Without
 * JavaScript the form still works with its "apply" button. */
(function () {
  "use strict";
  var DELAY_MS = 200;
  var form = document.getElementById("search-form");
  if (!form) return;
  document.documentElement.classList.add("js");

  // Ticking a facet or choosing a sort searches again from the first page.
  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches('.facet input[type="checkbox"], select.js-autosubmit')) {
      form.submit();
    }
  });

  var box = form.querySelector(".autocomplete");
  if (!box) return;
  var input = box.querySelector('input[type="search"]');
  var list = box.querySelector(".autocomplete-list");
  var url = box.getAttribute("data-autocomplete-url");
  var timer = null;
  var controller = null;
  var active = -1;
  var items = [];
  var KIND_LABELS = { term: "领域词", technology: "科技成果", need: "技术需求" };

  function close() {
    list.hidden = true;
    list.innerHTML = "";
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    items = [];
    active = -1;
  }

  function choose(item) {
    if (item.url) {
      window.location.href = item.url;
      return;
    }
    input.value = item.text;
    close();
    form.submit();
  }

  function highlight(index) {
    var options = list.querySelectorAll("li");
    options.forEach(function (li, i) {
      li.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    active = index;
    if (index >= 0) input.setAttribute("aria-activedescendant", options[index].id);
  }

  function render(suggestions) {
    close();
    if (!suggestions.length) return;
    items = suggestions;
    suggestions.forEach(function (item, i) {
      var li = document.createElement("li");
      li.id = "search-suggestion-" + i;
      li.setAttribute("role", "option");
      var text = document.createElement("span");
      text.textContent = item.text; // text, never HTML
      var kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = KIND_LABELS[item.kind] || "";
      li.appendChild(text);
      li.appendChild(kind);
      li.addEventListener("mousedown", function (event) {
        event.preventDefault();
        choose(item);
      });
      list.appendChild(li);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function fetchSuggestions() {
    var prefix = input.value.trim();
    if (!prefix) {
      close();
      return;
    }
    if (controller) controller.abort();
    controller = "AbortController" in window ? new AbortController() : null;
    fetch(url + "?q=" + encodeURIComponent(prefix), {
      headers: { Accept: "application/json" },
      signal: controller ? controller.signal : undefined,
    })
      .then(function (response) {
        return response.ok ? response.json() : { suggestions: [] };
      })
      .then(function (data) {
        if (input.value.trim() === prefix) render(data.suggestions || []);
      })
      .catch(function () {
        /* aborted or offline: no suggestions */
      });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(fetchSuggestions, DELAY_MS);
  });
  input.addEventListener("keydown", function (event) {
    if (list.hidden) return;
    if (event.key === "ArrowDown") {
      event.preventDefault();
      highlight(Math.min(active + 1, items.length - 1));
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      highlight(Math.max(active - 1, -1));
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      choose(items[active]);
    } else if (event.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", function () {
    setTimeout(close, 150);
  });
})();
