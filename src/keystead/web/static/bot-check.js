// The login page's proof of work (services/proof_of_work.py): a Web Worker finds a counter n
// such that SHA-256(challenge + ":" + n) starts with the challenge's number of zero bits; the
// form is sent once it is found (a click before that waits for it).
(function () {
  "use strict";
  var challenge = document.getElementById("bot-pow-challenge");
  var solution = document.getElementById("bot-pow-solution");
  var status = document.getElementById("bot-check-status");
  if (!challenge || !solution || !status) return;
  var form = challenge.form;
  var solved = false;
  var waiting = false;

  function done(n) {
    solution.value = String(n);
    solved = true;
    status.textContent = "Security check complete.";
    status.setAttribute("data-solved", "true");
    if (waiting) form.requestSubmit ? form.requestSubmit() : form.submit();
  }

  form.addEventListener("submit", function (event) {
    if (solved) return;
    event.preventDefault();
    waiting = true;
    status.textContent = "Finishing the security check\u2026";
  });

  try {
    var worker = new Worker(status.getAttribute("data-worker"));
    worker.onmessage = function (event) { done(event.data); };
    worker.onerror = function () { status.textContent = "The security check could not run. Reload the page."; };
    worker.postMessage(challenge.value);
  } catch (e) {
    status.textContent = "The security check could not run in this browser.";
  }
})();
