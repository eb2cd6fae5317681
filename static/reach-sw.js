// linli's service worker (issue 24, Web Push): shows the messages linli pushes to this
// browser and opens their link when the notification is tapped. It caches nothing: linli's
// pages carry personal data and are never kept offline.
"use strict";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (e) {
  e.waitUntil(self.clients.claim());
});

self.addEventListener("push", function (e) {
  var d = {};
  if (e.data) {
    try {
      d = e.data.json();
    } catch (_) {
      d = { body: e.data.text() };
    }
  }
  var urgent = !!d.urgent;
  e.waitUntil(
    self.registration.showNotification(d.title || "linli", {
      body: d.body || "",
      tag: d.tag || undefined,
      renotify: !!d.tag && urgent,
      requireInteraction: urgent,
      vibrate: urgent ? [300, 100, 300, 100, 300] : undefined,
      icon: "/static/icon-192.png",
      badge: "/static/icon-192.png",
      data: { url: d.url || "/" }
    })
  );
});

self.addEventListener("notificationclick", function (e) {
  e.notification.close();
  var url = (e.notification.data && e.notification.data.url) || "/";
  e.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
      for (var i = 0; i < list.length; i++) {
        if (list[i].url === url && "focus" in list[i]) return list[i].focus();
      }
      return self.clients.openWindow(url);
    })
  );
});
