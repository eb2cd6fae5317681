// The report form (issue 19 items 11 and 16): choosing a category's tile shows its own
// fields at once (no reload; those of other categories are disabled so they are not sent),
// and a building, grid or community can be found by name. Without this script the form
// still works: the server shows the chosen category's fields when it sends the form back.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) return;
  function showFields() {
    var chosen = form.querySelector("input[name=category]:checked");
    var code = chosen ? chosen.value : "";
    form.querySelectorAll("fieldset.cat-fields").forEach(function (fs) {
      var on = fs.getAttribute("data-for") === code;
      fs.hidden = !on;
      fs.disabled = !on;
    });
  }
  form.querySelectorAll("input[name=category]").forEach(function (r) {
    r.addEventListener("change", showFields);
  });
  showFields();

  var search = document.getElementById("place-search");
  var found = document.getElementById("place-found");
  var select = form.querySelector("select[name=place_id]");
  if (!search || !found || !select) return;
  search.hidden = false;
  var box = document.getElementById("place-find");
  if (box) box.hidden = false;
  var timer = null;
  function choose(p) {
    var opt = select.querySelector("option[value='" + p.id + "']");
    if (!opt) {
      opt = document.createElement("option");
      opt.value = String(p.id);
      opt.textContent = p.label;
      select.appendChild(opt);
    }
    select.value = String(p.id);
    found.textContent = "";
    search.value = p.label;
    // The map (static/map.js) goes to the place chosen.
    if (window.CustomEvent) document.dispatchEvent(new CustomEvent("linli:place", { detail: p }));
  }
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
        b.addEventListener("click", function () { choose(p); });
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

// Before reporting (issue 24 part 3): open reports of the chosen category at the chosen
// building or near the marked spot, each with "me too", so that a resident can support one
// instead of reporting the same problem again. Without this script the form still works.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  var box = document.getElementById("similar");
  if (!form || !box) return;
  var list = document.getElementById("similar-list");
  var select = form.querySelector("select[name=place_id]");
  var lat = form.querySelector("input[name=lat]");
  var lon = form.querySelector("input[name=lon]");
  function meToo(id, button) {
    fetch("/api/v1/cases/" + id + "/supports", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRF-Token": box.getAttribute("data-csrf") },
      body: "{}"
    }).then(function (r) {
      return r.json().then(function (b) { return { ok: r.ok, body: b }; });
    }).then(function (res) {
      var note = document.createElement("small");
      note.className = res.ok ? "muted" : "alert";
      note.textContent = res.ok ? box.getAttribute("data-done")
        : (res.body && res.body.error ? res.body.error.message : "");
      button.replaceWith(note);
    }).catch(function () {});
  }
  function look() {
    var chosen = form.querySelector("input[name=category]:checked");
    if (!chosen) { box.hidden = true; return; }
    var q = "?category=" + encodeURIComponent(chosen.value);
    if (select && select.value) q += "&place_id=" + encodeURIComponent(select.value);
    if (lat && lon && lat.value && lon.value) {
      q += "&lat=" + encodeURIComponent(lat.value) + "&lon=" + encodeURIComponent(lon.value);
    }
    fetch(box.getAttribute("data-url") + q, {
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (r) { return r.ok ? r.json() : []; }).then(function (found) {
      list.textContent = "";
      found.forEach(function (c) {
        var li = document.createElement("li");
        li.id = "similar-" + c.id;
        var text = document.createElement("span");
        text.textContent = "#" + c.id + " " + c.category_name + " · " + c.place_name + " · " +
          c.status_text + " · " + c.description + " (" + box.getAttribute("data-me-too") + " " + c.supports + ")";
        li.appendChild(text);
        var b = document.createElement("button");
        b.type = "button";
        b.className = "secondary me-too";
        b.id = "me-too-" + c.id;
        b.textContent = box.getAttribute("data-me-too");
        b.addEventListener("click", function () { meToo(c.id, b); });
        li.appendChild(document.createTextNode(" "));
        li.appendChild(b);
        list.appendChild(li);
      });
      box.hidden = found.length === 0;
    }).catch(function () {});
  }
  form.querySelectorAll("input[name=category]").forEach(function (r) {
    r.addEventListener("change", look);
  });
  if (select) select.addEventListener("change", look);
  [lat, lon].forEach(function (i) { if (i) i.addEventListener("change", look); });
  document.addEventListener("linli:place", function () { setTimeout(look, 0); });
  look();
})();
