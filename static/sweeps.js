// Door-to-door sweeps (拉网式排摸): a worker's door list keeps working when the connection
// drops. Each answer gets an id made here, is queued in localStorage and sent to the API; a
// failed send stays queued and is retried (every few seconds, and when the phone is back
// online), and the number still queued is shown. The server keeps one answer per
// (campaign, household, client id), so a retry of an answer that did arrive adds nothing.
// The progress page refreshes its counts while it is open.
(function () {
  "use strict";

  function clientId() {
    var b = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  // ---- the door list ----------------------------------------------------------------------
  var box = document.getElementById("sweep-doors");
  if (box) {
    var key = "linli.sweeps." + box.getAttribute("data-campaign");
    var api = box.getAttribute("data-api");
    var csrf = box.getAttribute("data-csrf");
    var countEl = document.getElementById("sweep-queued");
    var netEl = document.getElementById("sweep-net");
    var sending = false;
    var timer = null;

    var load = function () {
      try { return JSON.parse(localStorage.getItem(key) || "[]"); } catch (e) { return []; }
    };
    var save = function (q) {
      try { localStorage.setItem(key, JSON.stringify(q)); } catch (e) { /* full: kept in memory below */ }
      memory = q;
    };
    var memory = load();
    var queue = function () { var q = load(); return q.length || !memory.length ? q : memory; };

    var show = function () {
      var n = queue().length;
      countEl.textContent = String(n);
      document.getElementById("sweep-queue").classList.toggle("waiting", n > 0);
    };

    var label = function (name) { return box.getAttribute("data-l-" + name) || ""; };

    var mark = function (household, state, attempts) {
      var li = document.getElementById("door-" + household);
      if (!li) return;
      li.className = "door state-" + state;
      var s = li.querySelector(".door-state");
      if (!s) return;
      if (state === "done") s.textContent = label("done");
      else if (state === "nobody_home") s.textContent = label("nobody") + " · " + label("attempts").replace("{n}", attempts);
      else if (state === "queued") s.textContent = label("queued");
    };

    var problem = function (household, text) {
      var li = document.getElementById("door-" + household);
      var p = li && li.querySelector(".door-error");
      if (!p) return;
      p.textContent = text;
      p.hidden = !text;
      if (text) { li.className = "door state-refused"; var d = li.querySelector("details"); if (d) d.open = true; }
    };

    var later = function () {
      if (timer) return;
      timer = setTimeout(function () { timer = null; flush(); }, 5000);
    };

    var flush = function () {
      if (sending) return;
      var q = queue();
      if (!q.length) { netEl.textContent = ""; show(); return; }
      sending = true;
      var item = q[0];
      fetch(api, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(item)
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (v) { return { status: r.status, body: v }; });
      }).then(function (r) {
        sending = false;
        if (r.status >= 500 || r.status === 408 || r.status === 429 || r.status === 0) {
          netEl.textContent = label("offline");
          later();
          return;
        }
        // Delivered (or refused for good): off the queue either way.
        save(queue().filter(function (x) { return x.client_id !== item.client_id; }));
        if (r.status === 200) {
          mark(item.household_id, r.body.state, r.body.attempts);
          problem(item.household_id, "");
        } else {
          problem(item.household_id, (r.body && r.body.error && r.body.error.message) || String(r.status));
        }
        show();
        flush();
      }, function () {
        // No answer at all: the connection is down. Keep it and try again.
        sending = false;
        netEl.textContent = label("offline");
        show();
        later();
      });
    };

    Array.prototype.forEach.call(box.querySelectorAll("form.door-form"), function (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var li = form.closest("li.door");
        var household = Number(li.getAttribute("data-household"));
        var button = ev.submitter || form.querySelector("button.door-save");
        var outcome = button && button.value === "nobody_home" ? "nobody_home" : "answered";
        var answers = {};
        if (outcome === "answered") {
          Array.prototype.forEach.call(form.querySelectorAll("fieldset.q"), function (fs) {
            var k = fs.getAttribute("data-key"), kind = fs.getAttribute("data-kind");
            var el = fs.querySelector("input:checked") || fs.querySelector("input:not([type=radio])");
            if (!el || el.value === "" || (el.type === "radio" && !el.checked)) return;
            if (kind === "yes_no") answers[k] = el.value === "yes";
            else if (kind === "number") answers[k] = Number(el.value);
            else answers[k] = el.value;
          });
        }
        var q = queue();
        q.push({ household_id: household, client_id: clientId(), outcome: outcome, answers: answers });
        save(q);
        problem(household, "");
        mark(household, "queued");
        var d = li.querySelector("details");
        if (d) d.open = false;
        if (outcome === "answered") form.reset();
        show();
        flush();
      });
    });

    // What a previous visit left queued shows as queued until it is sent.
    queue().forEach(function (x) { mark(x.household_id, "queued"); });
    window.addEventListener("online", flush);
    setInterval(flush, 15000);
    show();
    flush();
  }

  // ---- the progress page ------------------------------------------------------------------
  var live = document.querySelector("[data-live]");
  if (live) {
    var url = live.getAttribute("data-live");
    var put = function (k, n) {
      Array.prototype.forEach.call(live.querySelectorAll('[data-k="' + k + '"]'), function (el) { el.textContent = String(n); });
    };
    var each = function (prefix, c) {
      put(prefix + ".done", c.done); put(prefix + ".nobody_home", c.nobody_home);
      put(prefix + ".open", c.open); put(prefix + ".total", c.total);
    };
    var refresh = function () {
      if (document.hidden) return;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) {
          if (!p) return;
          each("t", p.counts);
          var bar = live.querySelector('[data-w="t"]');
          if (bar && p.counts.total) bar.style.width = Math.floor(p.counts.done * 100 / p.counts.total) + "%";
          p.grids.forEach(function (g) {
            each("g" + g.grid_id, g.counts);
            g.buildings.forEach(function (b) { each("b" + b.building_id, b.counts); });
          });
        }, function () { /* offline: the figures stay as they were */ });
    };
    setInterval(refresh, 10000);
  }
})();
