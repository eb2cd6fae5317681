// The reach settings page (/reach/me): Web Push on this browser. Registers linli's service
// worker, asks for permission, subscribes with the deployment's VAPID key and posts the
// subscription (endpoint, p256dh, auth) to the API; turns it off again. Messages come from
// data attributes, in the page's language.
(function () {
  "use strict";
  var box = document.getElementById("reach-push");
  if (!box) return;
  var csrf = box.getAttribute("data-csrf") || "";
  var stateEl = document.getElementById("reach-push-state");
  var on = document.getElementById("reach-push-on");
  var off = document.getElementById("reach-push-off");
  var KEY = "linli-push-device";

  function say(what, extra) {
    stateEl.textContent = (box.getAttribute("data-" + what) || what) + (extra ? " " + extra : "");
  }
  function bytes(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var raw = atob(s), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  function api(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (v) { return { status: r.status, body: v }; });
    });
  }
  function label() {
    var ua = navigator.userAgent;
    var os = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Windows/.test(ua) ? "Windows"
      : /Mac OS X/.test(ua) ? "macOS" : /Linux/.test(ua) ? "Linux" : "";
    var br = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox" : /Chrome\//.test(ua) ? "Chrome"
      : /Safari\//.test(ua) ? "Safari" : "";
    return [os, br].filter(Boolean).join(" · ");
  }
  function refused(r) {
    return (r.body && r.body.error && r.body.error.message) || String(r.status);
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say("unsupported");
    return;
  }
  var reg = navigator.serviceWorker.register("/reach/sw.js", { scope: "/" });
  function show() {
    reg.then(function (r) { return r.pushManager.getSubscription(); }).then(function (s) {
      on.hidden = !!s;
      off.hidden = !s;
      say(s ? "on" : Notification.permission === "denied" ? "denied" : "off");
    }, function () { say("unsupported"); });
  }
  on.addEventListener("click", function () {
    on.disabled = true;
    say("asking");
    Notification.requestPermission().then(function (p) {
      if (p !== "granted") { say("denied"); return null; }
      return api("GET", "/api/v1/reach/push/key").then(function (k) {
        return reg.then(function (r) {
          return r.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes(k.body.public_key) });
        });
      }).then(function (sub) {
        var j = sub.toJSON();
        return api("POST", "/api/v1/reach/push/devices", { endpoint: j.endpoint, keys: j.keys, label: label() });
      }).then(function (r) {
        if (r.status === 201) {
          try { localStorage.setItem(KEY, String(r.body.id)); } catch (_) { /* private mode */ }
          location.reload();
        } else {
          say("failed", refused(r));
        }
      });
    }).catch(function (e) { say("failed", e && e.message); }).then(function () { on.disabled = false; });
  });
  off.addEventListener("click", function () {
    off.disabled = true;
    reg.then(function (r) { return r.pushManager.getSubscription(); }).then(function (s) {
      return s ? s.unsubscribe() : true;
    }).then(function () {
      var id = null;
      try { id = localStorage.getItem(KEY); localStorage.removeItem(KEY); } catch (_) { /* private mode */ }
      // Without the id the push service answers 410 to the next message and linli forgets it.
      return id ? api("DELETE", "/api/v1/reach/push/devices/" + encodeURIComponent(id)) : null;
    }).then(function () { location.reload(); }, function (e) { say("failed", e && e.message); off.disabled = false; });
  });
  show();
})();
