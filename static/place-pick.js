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
    var timer = null, asked = 0;
    function note(s, cls) {
      found.textContent = "";
      var li = document.createElement("li");
      li.className = cls || "muted";
      li.textContent = s;
      found.appendChild(li);
    }
    function choose(p) {
      field.value = p.path;
      field.dispatchEvent(new Event("change", { bubbles: true }));
      found.textContent = "";
      q.value = p.name;
      if (chosen) chosen.textContent = box.getAttribute("data-chosen") + " " + p.label + " (" + p.path + ")";
    }
    function look() {
      var words = q.value.trim();
      if (!words) { found.textContent = ""; return; }
      var mine = ++asked;
      fetch("/api/v1/places/pick?for=" + encodeURIComponent(box.getAttribute("data-for")) + "&q=" + encodeURIComponent(words), {
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
  }
  document.querySelectorAll(".place-pick[data-field]").forEach(setUp);
})();
