// Places by name (issue 19 item 11): on the forms that take a place (imports, exports, new
// accounts, grants), type a name or an address and choose the community, grid or building; the
// form's own field receives its code path. Only places the viewer may act on for that form are
// offered (/api/v1/places/pick?for=…). Without this script the field is typed as before.
(function () {
  "use strict";
  if (window.linliPlacePick || !window.fetch) return;
  window.linliPlacePick = true;
  function setUp(box) {
    var field = document.getElementById(box.getAttribute("data-field"));
    var q = box.querySelector(".place-pick-q");
    var found = box.querySelector(".place-pick-found");
    var chosen = box.querySelector(".place-pick-chosen");
    if (!field || !q || !found) return;
    box.hidden = false;
    // The code path is the form's business, not the person's: with the picker working, the raw
    // field is hidden and what it holds is shown by name. Its `required` moves to the submit
    // check below (a hidden required field would block the form without a word).
    var label = field.closest("label");
    if (label) label.hidden = true;
    var needed = field.required;
    field.required = false;
    var form = field.form;
    if (form) form.addEventListener("submit", function (ev) {
      if (needed && !field.value.trim()) {
        ev.preventDefault();
        ev.stopImmediatePropagation();
        note(box.getAttribute("data-required"), "alert");
        q.focus();
      }
    }, true);
    var timer = null, asked = 0;
    function note(s, cls) {
      found.textContent = "";
      var li = document.createElement("li");
      li.className = cls || "muted";
      li.textContent = s;
      found.appendChild(li);
    }
    // Forms that take a place's id (a device, a meeting) say data-value="id"; the others its path.
    var byId = box.getAttribute("data-value") === "id";
    var extra = box.getAttribute("data-units") === "1" ? "&units=true" : "";
    function valueOf(p) { return byId ? String(p.id) : p.path; }
    function choose(p) {
      field.value = valueOf(p);
      field.dispatchEvent(new Event("change", { bubbles: true }));
      found.textContent = "";
      q.value = p.name;
      if (chosen) chosen.textContent = box.getAttribute("data-chosen") + " " + p.label;
    }
    function look() {
      var words = q.value.trim();
      if (!words) { found.textContent = ""; return; }
      var mine = ++asked;
      fetch("/api/v1/places/pick?for=" + encodeURIComponent(box.getAttribute("data-for")) + extra + "&q=" + encodeURIComponent(words), {
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (r) {
        return r.json().then(function (v) { return { ok: r.ok, body: v }; });
      }).then(function (r) {
        if (mine !== asked) return;
        if (!r.ok) { note(r.body && r.body.error ? r.body.error.message : "", "alert"); return; }
        found.textContent = "";
        r.body.forEach(function (p) {
          var li = document.createElement("li");
          var b = document.createElement("button");
          b.type = "button";
          b.className = "link";
          b.setAttribute("data-path", p.path);
          b.textContent = p.address ? p.label + " · " + p.address : p.label;
          b.addEventListener("click", function () { choose(p); });
          li.appendChild(b);
          found.appendChild(li);
        });
        if (!r.body.length) note(box.getAttribute("data-none"));
      }).catch(function () {});
    }
    q.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(look, 250);
    });
    q.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") { ev.preventDefault(); clearTimeout(timer); look(); }
    });
    // A field filled in before (the viewer's own place, a form sent back with an error) is
    // shown by its name: the pick answers a code path with the place it names.
    if (field.value.trim()) {
      fetch("/api/v1/places/pick?for=" + encodeURIComponent(box.getAttribute("data-for")) + extra + "&q=" + encodeURIComponent(field.value.trim()), {
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (r) { return r.ok ? r.json() : []; }).then(function (list) {
        var p = list.filter(function (x) { return valueOf(x) === field.value.trim(); })[0];
        if (p && chosen) {
          q.value = p.name;
          chosen.textContent = box.getAttribute("data-chosen") + " " + p.label;
        }
      }).catch(function () {});
    }
  }
  document.querySelectorAll(".place-pick[data-field]").forEach(setUp);
})();
