// The street's map with pan and zoom (issue 19 item 15), drawn by the vendored Leaflet
// (static/leaflet/) from the street's own layers (/api/v1/map/layers): its boundaries, its
// buildings by name (the viewer's own marked), its roads when uploaded, and the tile layer the
// street configured, if any. Without this script (or Leaflet) the server's SVG map stays.
// On the case map it also draws the open cases (data-points), one mark per building.
// On the report form the map also marks the spot: a tap is checked against the street
// (/api/v1/map/locate) and a point outside it is refused with the server's own message.
(function () {
  "use strict";
  var box = document.querySelector("[data-leaflet]");
  if (!box || !window.L || !window.fetch) return;
  var fallback = document.getElementById(box.getAttribute("data-fallback") || "");
  var pick = box.hasAttribute("data-pick");
  function say(key) { return box.getAttribute("data-" + key) || ""; }
  function text(s) {
    var span = document.createElement("span");
    span.textContent = s;
    return span;
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        return r.json().then(function (v) { return { ok: r.ok, body: v }; });
      });
  }
  getJson(box.getAttribute("data-leaflet")).then(function (r) {
    if (r.ok) draw(r.body);
  }).catch(function () {});

  function draw(layers) {
    box.hidden = false;
    if (fallback) fallback.hidden = true;
    var map = L.map(box, { attributionControl: !!layers.tiles });
    if (layers.tiles) {
      L.tileLayer(layers.tiles.url, { attribution: esc(layers.tiles.attribution), maxZoom: 19 }).addTo(map);
    }
    var overlays = {};
    var areas = L.geoJSON(layers.areas, {
      style: function (f) {
        var k = f.properties.kind;
        if (k === "street") return { color: "#334", weight: 2, fill: false, dashArray: "6 4" };
        if (k === "community") return { color: "#1d4e89", weight: 2, fillOpacity: 0.04 };
        return { color: "#445", weight: 1, fillColor: "#8ecae6", fillOpacity: 0.25 };
      },
      onEachFeature: function (f, layer) {
        if (f.properties.kind !== "street") layer.bindTooltip(text(f.properties.name), { sticky: true });
      }
    }).addTo(map);
    overlays[esc(say("l-areas"))] = areas;
    if (layers.roads) {
      var roads = L.geoJSON(layers.roads, {
        style: { color: "#6b6b6b", weight: 4, opacity: 0.8 },
        onEachFeature: function (f, layer) {
          if (f.properties && f.properties.name) layer.bindTooltip(text(f.properties.name), { sticky: true });
        }
      }).addTo(map);
      overlays[esc(say("l-roads"))] = roads;
    }
    var byId = {};
    var buildings = L.geoJSON(layers.buildings, {
      pointToLayer: function (f, at) {
        var mine = f.properties.own;
        return L.circleMarker(at, {
          radius: mine ? 9 : 5, color: "#fff", weight: mine ? 3 : 1,
          fillColor: mine ? "#1a56db" : "#b3261e", fillOpacity: 1
        });
      },
      style: function (f) {
        return f.properties.own ? { color: "#1a56db", weight: 3 } : { color: "#b3261e", weight: 1, fillOpacity: 0.4 };
      },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        byId[p.id] = layer;
        var card = document.createElement("div");
        var b = document.createElement("b");
        b.textContent = p.name;
        card.appendChild(b);
        if (p.address) { card.appendChild(document.createElement("br")); card.appendChild(text(p.address)); }
        if (p.own) { card.appendChild(document.createElement("br")); card.appendChild(text(say("own"))); }
        layer.bindPopup(card);
        if (p.own) {
          layer.bindTooltip(text(p.name + " · " + say("own")), { permanent: true, direction: "top", className: "own-label" });
        } else {
          layer.bindTooltip(text(p.name));
        }
      }
    }).addTo(map);
    overlays[esc(say("l-buildings"))] = buildings;
    // The case map: one mark per building with open cases (its count in the tooltip, larger
    // for more), late ones in red; each opens the queue of that building's open cases.
    var pointsJson = box.getAttribute("data-points");
    if (pointsJson) {
      var points = L.geoJSON(JSON.parse(pointsJson), {
        pointToLayer: function (f, at) {
          var n = f.properties.count || 1;
          return L.circleMarker(at, {
            radius: Math.min(7 + 3 * Math.log2(n), 22), color: "#fff", weight: 2,
            fillColor: f.properties.late ? "#b3261e" : "#e09f1f", fillOpacity: 1,
            className: f.properties.late ? "case-point late" : "case-point"
          });
        },
        onEachFeature: function (f, layer) {
          var a = document.createElement("a");
          a.href = f.properties.href;
          a.textContent = f.properties.label;
          layer.bindPopup(a);
          layer.bindTooltip(text(f.properties.label));
        }
      }).addTo(map);
      overlays[esc(say("l-points"))] = points;
      box.setAttribute("data-points-drawn", String(points.getLayers().length));
    }
    L.control.layers(null, overlays, { collapsed: true }).addTo(map);
    var bounds = areas.getBounds();
    if (!bounds.isValid()) bounds = buildings.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [8, 8] });
    else map.setView([31.23, 121.47], 14);
    // A resident's map opens on her own building, close enough to read its neighbours' names
    // (the whole street on a phone is a field of dots, her label cut at the edge). Not the
    // report form's map, where a tap in the middle marks a spot, not her building.
    if (!pick) buildings.eachLayer(function (layer) {
      if (!layer.feature || !layer.feature.properties.own) return;
      var at = layer.getLatLng ? layer.getLatLng() : layer.getBounds().getCenter();
      map.setView(at, Math.max(map.getZoom(), 17));
    });
    box.setAttribute("data-ready", String(areas.getLayers().length) + "/" + String(buildings.getLayers().length));
    box.linliMap = map;
    // A building chosen by name or address (the place search): the map goes there.
    document.addEventListener("linli:place", function (ev) {
      var p = ev.detail || {};
      if (p.lat == null || p.lon == null) return;
      map.setView([p.lat, p.lon], Math.max(map.getZoom(), 17));
      if (byId[p.id]) byId[p.id].openPopup();
    });
    if (pick) marking(map);
  }

  // The report form: a tap marks the spot, once the server says it is in the street.
  function marking(map) {
    var form = document.getElementById("report-form");
    if (!form) return;
    var lat = form.querySelector("input[name=lat]");
    var lon = form.querySelector("input[name=lon]");
    var status = document.getElementById("pick-status");
    var mark = null;
    function show(la, lo, where) {
      if (!mark) {
        mark = L.circleMarker([la, lo], { radius: 10, color: "#fff", weight: 3, fillColor: "#1a56db", fillOpacity: 1 }).addTo(map);
      } else {
        mark.setLatLng([la, lo]);
      }
      if (status) {
        status.classList.remove("alert");
        status.textContent = say("marked") + " " + (where ? where + " · " : "") + la.toFixed(6) + ", " + lo.toFixed(6);
      }
    }
    function refuse(message) {
      if (status) {
        status.classList.add("alert");
        status.setAttribute("role", "alert");
        status.textContent = message;
      }
    }
    function check(la, lo, located) {
      return getJson("/api/v1/map/locate?lat=" + la.toFixed(6) + "&lon=" + lo.toFixed(6)).then(function (r) {
        if (r.ok) {
          lat.value = la.toFixed(6);
          lon.value = lo.toFixed(6);
          show(la, lo, r.body.name);
        } else {
          // A phone's own location outside the street is not kept on the form either.
          if (located) { lat.value = ""; lon.value = ""; }
          refuse(r.body && r.body.error ? r.body.error.message : say("outside"));
        }
      }).catch(function () {});
    }
    map.on("click", function (ev) { check(ev.latlng.lat, ev.latlng.lng); });
    // "Use my location" (static/app.js) marks a point too: check it the same way.
    form.addEventListener("linli:marked", function (ev) { check(ev.detail.lat, ev.detail.lon, true); });
    var la = parseFloat(lat.value), lo = parseFloat(lon.value);
    if (!isNaN(la) && !isNaN(lo)) show(la, lo, "");
  }
})();

// The map page's "find a building by its address or name": the street's places
// (/api/v1/cases/places); choosing one moves the map there and opens its card.
(function () {
  "use strict";
  var search = document.getElementById("map-search");
  var found = document.getElementById("map-found");
  var box = document.getElementById("map-find");
  if (!search || !found || !box || !window.fetch) return;
  box.hidden = false;
  var timer = null;
  function look() {
    var q = search.value.trim();
    if (!q) { found.textContent = ""; return; }
    fetch(search.getAttribute("data-url") + "?q=" + encodeURIComponent(q), {
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (r) { return r.ok ? r.json() : []; }).then(function (list) {
      found.textContent = "";
      list.forEach(function (p) {
        var li = document.createElement("li");
        var b = document.createElement("button");
        b.type = "button";
        b.className = "link";
        b.textContent = p.address ? p.label + " · " + p.address : p.label;
        b.addEventListener("click", function () {
          found.textContent = "";
          search.value = p.label;
          document.dispatchEvent(new CustomEvent("linli:place", { detail: p }));
        });
        li.appendChild(b);
        found.appendChild(li);
      });
      if (!list.length) {
        var li = document.createElement("li");
        li.className = "muted";
        li.textContent = search.getAttribute("data-none");
        found.appendChild(li);
      }
    }).catch(function () {});
  }
  search.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(look, 250);
  });
})();
