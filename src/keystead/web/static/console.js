/* Keystead admin console: small progressive enhancements (the pages work without them).
 * Loaded from 'self' under a CSP without inline script. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    // The tenant switcher submits when a tenant is chosen; its button is for no-JS use.
    document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      var select = form.querySelector("select");
      var button = form.querySelector("button[type=submit]");
      if (!select) return;
      if (button) button.hidden = true;
      select.addEventListener("change", function () { form.submit(); });
    });

    // A form posts once: its submit buttons are disabled once it is on its way (a double click
    // must not create two clients). The buttons carry no name, so nothing is lost from the form.
    document.querySelectorAll("form[method=post]").forEach(function (form) {
      form.addEventListener("submit", function () {
        setTimeout(function () {
          form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
        }, 0);
      });
    });

    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) return;  // back to a page kept in memory: its buttons work again
      document.querySelectorAll("button[type=submit]:disabled").forEach(function (b) { b.disabled = false; });
    });

    // "Copy" buttons next to values shown once (client secrets).
    if (navigator.clipboard) {
      document.querySelectorAll("button[data-copy]").forEach(function (button) {
        var source = document.getElementById(button.getAttribute("data-copy"));
        if (!source) return;
        button.hidden = false;
        button.addEventListener("click", function () {
          navigator.clipboard.writeText(source.textContent.trim()).then(function () {
            button.textContent = "Copied";
            setTimeout(function () { button.textContent = "Copy"; }, 2000);
          });
        });
      });
    }
  });
})();
