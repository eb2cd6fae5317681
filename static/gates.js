// The guard's page: a pass's code is checked first on the phone (its Ed25519 signature with the
// public key in the page, through WebCrypto, and its window), so that a check works when the
// network drops; then online, where the server also takes one entry (a replayed pass is
// refused there). Without WebCrypto's Ed25519 the form is checked online only.
(function () {
  "use strict";
  var box = document.getElementById("guard");
  if (!box) return;
  var form = document.getElementById("guard-form");
  var input = document.getElementById("guard-code");
  var result = document.getElementById("guard-result");
  var offline = document.getElementById("guard-offline");
  var d = box.dataset;

  function b64(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function show(ok, text) {
    result.textContent = "";
    var p = document.createElement("p");
    p.className = ok ? "ok valid" : "alert invalid";
    p.textContent = text;
    result.appendChild(p);
  }

  // Resolves to null when the signature and window are right, to a refusal's text when not,
  // and to undefined when this browser cannot check offline.
  function checkOffline(code) {
    if (!window.crypto || !crypto.subtle || !d.key) return Promise.resolve(undefined);
    var parts = code.split(".");
    if (parts.length !== 2) return Promise.resolve(d.lForged);
    var payload, sig;
    try { payload = b64(parts[0]); sig = b64(parts[1]); } catch (e) { return Promise.resolve(d.lForged); }
    return crypto.subtle.importKey("raw", b64(d.key), { name: "Ed25519" }, false, ["verify"])
      .then(function (key) { return crypto.subtle.verify({ name: "Ed25519" }, key, sig, payload); })
      .then(function (good) {
        if (!good) return d.lForged;
        var f = new TextDecoder().decode(payload).split(":");
        if (f.length !== 6 || f[0] !== "p1") return d.lForged;
        var now = Date.now();
        if (now < Number(f[3])) return d.lEarly;
        if (now >= Number(f[4])) return d.lExpired;
        return null;
      }, function () { return undefined; });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var code = input.value.trim();
    offline.textContent = "";
    checkOffline(code).then(function (off) {
      if (typeof off === "string") {
        show(false, d.lInvalid + " · " + off);
        return;
      }
      offline.textContent = off === null ? d.lOfflineOk : d.lOfflineNa;
      fetch(d.api, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": d.csrf },
        body: JSON.stringify({ code: code })
      }).then(function (r) { return r.json(); }).then(function (v) {
        if (v.valid) show(true, d.lValid + " · " + d.lHost + " " + (v.host_unit || ""));
        else show(false, d.lInvalid + " · " + (v.reason || v.message || ""));
      }, function () {
        // The network is down: the offline answer stands.
        if (off === null) show(true, d.lValid + " · " + d.lOfflineOk);
        else form.submit();
      });
    });
  });
})();
