// linli: live alert updates over Server-Sent Events. Rows are built with textContent only.
(function () {
  var body = document.getElementById("alert-rows");
  if (!body || !window.EventSource) return;
  var live = document.getElementById("live-state");
  var label = function (k) { return body.getAttribute("data-label-" + k) || k; };
  var when = function (ms) {
    // The street's zone (the page says its offset), not the browser's.
    var off = Number(document.body.getAttribute("data-tz-offset") || 480) * 60000;
    return new Date(ms + off).toISOString().replace("T", " ").slice(0, 19);
  };
  var cell = function (tr, text, cls) {
    var td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text;
    tr.appendChild(td);
    return td;
  };
  var es = new EventSource("/api/v1/alerts/stream");
  es.addEventListener("ready", function () { if (live) live.textContent = live.getAttribute("data-live"); });
  es.onerror = function () { if (live) live.textContent = live.getAttribute("data-off"); };
  es.addEventListener("resync", function () { window.location.reload(); });
  es.addEventListener("alert", function (ev) {
    var msg = JSON.parse(ev.data), a = msg.alert;
    var tr = body.querySelector('tr[data-id="' + a.id + '"]');
    var state = label(a.state) + (a.level > 0 ? " · ↑" + a.level : "");
    if (tr) {
      tr.querySelector(".state").textContent = state;
      tr.querySelector(".hits").textContent = a.hits;
      tr.querySelector(".last").textContent = when(a.last_at);
      tr.classList.add("changed");
      return;
    }
    if (msg.action !== "raised") return;
    tr = document.createElement("tr");
    tr.setAttribute("data-id", a.id);
    tr.className = "sev-" + a.severity + " changed";
    cell(tr, label(a.severity));
    var what = cell(tr, "");
    var link = document.createElement("a");
    link.href = "/alerts/" + a.id;
    link.textContent = a.rule_name;
    what.appendChild(link);
    what.appendChild(document.createElement("br"));
    var m = document.createElement("span");
    m.className = "muted";
    m.textContent = a.text;
    what.appendChild(m);
    cell(tr, a.place_name);
    cell(tr, state, "state");
    cell(tr, String(a.hits), "num hits");
    cell(tr, when(a.last_at), "last");
    body.insertBefore(tr, body.firstChild);
    var none = document.getElementById("no-alerts");
    if (none) none.hidden = true;
  });
})();

// The device page: new values as they are committed.
(function () {
  var table = document.getElementById("latest");
  if (!table || !window.EventSource) return;
  var id = Number(table.getAttribute("data-device"));
  var when = function (ms) {
    var off = Number(document.body.getAttribute("data-tz-offset") || 480) * 60000;
    return new Date(ms + off).toISOString().replace("T", " ").slice(0, 19);
  };
  var es = new EventSource("/api/v1/alerts/stream?devices=true");
  es.addEventListener("state", function (ev) {
    var s = JSON.parse(ev.data);
    if (s.device_id !== id) return;
    var status = document.getElementById("device-status");
    if (status) status.textContent = table.getAttribute("data-online");
    s.values.forEach(function (v) {
      var tr = null;
      table.querySelectorAll("tr[data-key]").forEach(function (r) {
        if (r.getAttribute("data-key") === v.key) tr = r;
      });
      if (!tr) {
        tr = document.createElement("tr");
        tr.setAttribute("data-key", v.key);
        var th = document.createElement("th");
        th.textContent = v.key;
        tr.appendChild(th);
        var a = document.createElement("td"); a.className = "v"; tr.appendChild(a);
        var b = document.createElement("td"); b.className = "t"; tr.appendChild(b);
        table.appendChild(tr);
      }
      tr.querySelector(".v").textContent = v.num !== undefined ? String(v.num) : (v.text || "");
      tr.querySelector(".t").textContent = when(v.ts);
      tr.classList.add("changed");
    });
  });
})();
