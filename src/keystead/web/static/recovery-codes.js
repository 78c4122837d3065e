// The recovery codes page: a "Copy" button (shown only where the Clipboard API exists).
(function () {
  "use strict";
  var button = document.getElementById("copy-codes");
  var list = document.getElementById("recovery-codes");
  var status = document.getElementById("codes-status");
  if (!button || !list || !navigator.clipboard || !window.isSecureContext) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var codes = Array.prototype.map.call(list.querySelectorAll("code"), function (c) {
      return c.textContent;
    });
    navigator.clipboard.writeText(codes.join("\n") + "\n").then(
      function () { status.textContent = "Copied."; },
      function () { status.textContent = "Copying failed: download them or write them down."; }
    );
  });
})();
