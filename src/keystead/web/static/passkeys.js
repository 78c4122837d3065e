// Passkeys (WebAuthn) on the hosted pages: served from this origin (CSP script-src 'self').
//
// A button with data-passkey="get" or "create" fetches the ceremony's options from its
// data-options URL (a form post with the page's CSRF token), calls navigator.credentials and
// posts the credential's JSON in the hidden form named by data-form: the next page is an
// ordinary navigation. A form with data-passkey-autofill starts a conditional request, so the
// browser offers passkeys in the username field's autofill (autocomplete="username webauthn").
// Without WebAuthn in the browser nothing is shown and the page works as before.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  var pending = null; // the AbortController of a conditional request

  function toBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (c) {
      return { type: c.type, id: toBytes(c.id), transports: c.transports };
    });
  }

  function creationOptions(o) {
    o.challenge = toBytes(o.challenge);
    o.user.id = toBytes(o.user.id);
    o.excludeCredentials = descriptors(o.excludeCredentials);
    return o;
  }

  function requestOptions(o) {
    o.challenge = toBytes(o.challenge);
    o.allowCredentials = descriptors(o.allowCredentials);
    return o;
  }

  function credentialJSON(cred) {
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: toText(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toText(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toText(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toText(r.authenticatorData);
      out.response.signature = toText(r.signature);
      out.response.userHandle = r.userHandle ? toText(r.userHandle) : null;
    }
    return out;
  }

  function say(text) {
    var status = document.getElementById("passkey-status");
    if (status) status.textContent = text;
  }

  function explain(error) {
    if (error && error.name === "AbortError") return "";
    if (error && error.name === "NotAllowedError") return "The passkey was not used: the request was cancelled or timed out.";
    if (error && error.name === "InvalidStateError") return "This device already has a passkey for your account.";
    return "Passkeys are not available right now. Use another way to continue.";
  }

  function fetchOptions(url, form) {
    var body = new URLSearchParams();
    body.set("csrf_token", form.querySelector("[name=csrf_token]").value);
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString()
    }).then(function (response) {
      if (!response.ok) throw new Error("options " + response.status);
      return response.json();
    });
  }

  function send(form, cred) {
    if (!cred) return;
    form.querySelector("[name=credential]").value = JSON.stringify(credentialJSON(cred));
    form.submit();
  }

  function stopConditional() {
    if (pending) {
      pending.abort();
      pending = null;
    }
  }

  document.querySelectorAll("[data-passkey]").forEach(function (button) {
    var form = document.getElementById(button.getAttribute("data-form"));
    if (!form) return;
    button.hidden = false;
    document.querySelectorAll("[data-passkey-shown]").forEach(function (el) { el.hidden = false; });
    button.addEventListener("click", function () {
      stopConditional();
      button.disabled = true;
      say("");
      fetchOptions(button.getAttribute("data-options"), form)
        .then(function (options) {
          return button.getAttribute("data-passkey") === "create"
            ? navigator.credentials.create({ publicKey: creationOptions(options) })
            : navigator.credentials.get({ publicKey: requestOptions(options) });
        })
        .then(function (cred) { send(form, cred); })
        .catch(function (error) {
          button.disabled = false;
          say(explain(error));
        });
    });
  });

  var auto = document.querySelector("[data-passkey-autofill]");
  if (auto && PublicKeyCredential.isConditionalMediationAvailable) {
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (!available) return;
      var controller = new AbortController();
      pending = controller;
      fetchOptions(auto.getAttribute("data-options"), auto)
        .then(function (options) {
          if (controller.signal.aborted) return null;
          return navigator.credentials.get({
            publicKey: requestOptions(options),
            mediation: "conditional",
            signal: controller.signal
          });
        })
        .then(function (cred) { send(auto, cred); })
        .catch(function () { /* no autofill offer: the button and the password still work */ });
    });
  }
})();
