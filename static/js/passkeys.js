// Passkeys (WebAuthn) with plain navigator.credentials calls. A form with data-passkey="register|login|verify"
// asks its data-options-url for options, runs the browser ceremony, and posts the answer as JSON to its action.
// The server checks everything (app/services/accounts/passkeys.py); this file only moves bytes.
(function () {
  "use strict";
  if (window.__laurelPasskeys) { return; }  // included by more than one part of a page
  window.__laurelPasskeys = true;

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) { return Object.assign({}, item, { id: toBytes(item.id) }); });
  }

  function creationOptions(json) {
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge),
      user: Object.assign({}, json.user, { id: toBytes(json.user.id) }),
      excludeCredentials: descriptors(json.excludeCredentials)
    });
  }

  function requestOptions(json) {
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge),
      allowCredentials: descriptors(json.allowCredentials)
    });
  }

  function answer(credential) {
    var response = credential.response;
    var out = {
      id: credential.id, rawId: toText(credential.rawId), type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      response: { clientDataJSON: toText(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      out.response.attestationObject = toText(response.attestationObject);
      out.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      out.response.authenticatorData = toText(response.authenticatorData);
      out.response.signature = toText(response.signature);
      if (response.userHandle) { out.response.userHandle = toText(response.userHandle); }
    }
    return out;
  }

  function post(url, token, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(body || {})
    }).then(function (reply) {
      return reply.json().catch(function () { return {}; }).then(function (data) {
        if (!reply.ok) { throw new Error(data.error || data.detail || "The server refused (" + reply.status + ")."); }
        return data;
      });
    });
  }

  function run(form) {
    var kind = form.dataset.passkey;
    var token = form.querySelector("input[name=csrf_token]").value;
    var status = form.querySelector("[data-passkey-status]");
    var button = form.querySelector("button[type=submit]");
    var name = form.querySelector("input[name=name]");
    if (kind === "register" && !name.value.trim()) { name.focus(); status.textContent = "Give the passkey a name first."; return; }
    status.textContent = "";
    button.disabled = true;
    post(form.dataset.optionsUrl, token).then(function (options) {
      return kind === "register"
        ? navigator.credentials.create({ publicKey: creationOptions(options) })
        : navigator.credentials.get({ publicKey: requestOptions(options) });
    }).then(function (credential) {
      var remember = document.querySelector("input[name=remember_device]:checked");
      return post(form.action, token, {
        credential: answer(credential), name: name ? name.value : undefined,
        remember_device: Boolean(remember), next: form.dataset.next || undefined
      });
    }).then(function (data) {
      window.location.assign(data.redirect || "/");
    }).catch(function (error) {
      status.textContent = error && error.name === "NotAllowedError"
        ? "The passkey request was cancelled or timed out." : (error && error.message) || "That did not work.";
      button.disabled = false;
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-passkey]");
    if (!form) { return; }
    event.preventDefault();
    if (!window.PublicKeyCredential) {
      form.querySelector("[data-passkey-status]").textContent = "This browser does not support passkeys.";
      return;
    }
    run(form);
  });
}());
