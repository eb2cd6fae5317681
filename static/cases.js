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
