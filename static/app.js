// linli: the little script the pages use. No inline handlers (the CSP forbids them).
document.addEventListener("click", function (ev) {
  var el = ev.target.closest("[data-confirm]");
  if (el && !window.confirm(el.getAttribute("data-confirm"))) {
    ev.preventDefault();
  }
});

// Long work (an import): say it is under way and keep the button from being pressed twice.
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  if (!form.hasAttribute("data-busy")) return;
  var busy = form.querySelector(".busy");
  if (busy) busy.hidden = false;
  var button = form.querySelector("button[type=submit]");
  if (button) button.disabled = true;
});

// An import running as a job: poll its progress and show the report when it is done.
(function () {
  var card = document.getElementById("progress");
  if (!card) return;
  var id = card.getAttribute("data-job");
  var bar = document.getElementById("import-progress");
  var count = document.getElementById("import-count");
  var status = document.getElementById("import-status");
  function tick() {
    fetch("/imports/jobs/" + id + "/progress", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        if (p.state === "done" || p.state === "failed") { window.location.reload(); return; }
        bar.max = p.total; bar.value = p.done;
        count.textContent = p.done + " / " + p.total;
        status.firstChild.textContent = (p.state === "writing" ? status.getAttribute("data-writing") : status.getAttribute("data-checking")) + " · ";
        setTimeout(tick, 700);
      })
      .catch(function () { setTimeout(tick, 2000); });
  }
  setTimeout(tick, 500);
})();

// The report form's map: a tap marks the spot (the form's latitude and longitude), and "use my
// location" marks where the phone is. The map carries its projection (see web/map.rs).
(function () {
  var svg = document.querySelector("svg.map.pick");
  var form = document.getElementById("report-form");
  if (!svg || !form) return;
  var lat = form.querySelector("input[name=lat]");
  var lon = form.querySelector("input[name=lon]");
  var mark = document.getElementById("pick-mark");
  var status = document.getElementById("pick-status");
  var f = function (k) { return parseFloat(svg.getAttribute("data-" + k)); };
  function put(la, lo) {
    lat.value = la.toFixed(6);
    lon.value = lo.toFixed(6);
    show();
    // The map with pan and zoom (static/map.js), when it replaced this one, marks it too.
    if (window.CustomEvent) form.dispatchEvent(new CustomEvent("linli:marked", { detail: { lat: la, lon: lo } }));
  }
  function show() {
    var la = parseFloat(lat.value), lo = parseFloat(lon.value);
    if (isNaN(la) || isNaN(lo)) return;
    mark.setAttribute("cx", (f("pad") + (lo - f("lon0")) * f("sx")).toFixed(1));
    mark.setAttribute("cy", (f("h") - f("pad") - (la - f("lat0")) * f("sy")).toFixed(1));
    mark.removeAttribute("visibility");
    status.textContent = status.getAttribute("data-marked") + " " + lat.value + ", " + lon.value;
  }
  svg.addEventListener("click", function (ev) {
    var m = svg.getScreenCTM();
    if (!m) return;
    var p = new DOMPoint(ev.clientX, ev.clientY).matrixTransform(m.inverse());
    put(f("lat0") + (f("h") - f("pad") - p.y) / f("sy"), f("lon0") + (p.x - f("pad")) / f("sx"));
  });
  lat.addEventListener("change", show);
  lon.addEventListener("change", show);
  var here = document.getElementById("pick-here");
  if (here && navigator.geolocation) {
    here.hidden = false;
    here.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(
        function (pos) { put(pos.coords.latitude, pos.coords.longitude); },
        function () { status.textContent = here.getAttribute("data-failed"); },
        { enableHighAccuracy: true, timeout: 15000 }
      );
    });
  }
})();

// Photos from a phone: HEIC (the iPhone default) is refused at once with what to do, and a large
// photo is scaled to at most 2048 px on its long side in the browser before it is sent (a 4 MB
// photo over a weak signal becomes about 400 KB). The server checks every photo again.
(function () {
  var MAX_SIDE = 2048, MIN_BYTES = 1024 * 1024;
  function note(input, text) {
    var n = input.parentNode.querySelector(".upload-note");
    if (!n) {
      n = document.createElement("span");
      n.className = "upload-note muted";
      n.setAttribute("role", "status");
      input.parentNode.appendChild(n);
    }
    n.textContent = text;
  }
  function heic(f) {
    return /^image\/hei[cf]/i.test(f.type) || /\.(heic|heif)$/i.test(f.name);
  }
  function shrink(f) {
    if (f.size < MIN_BYTES || !window.createImageBitmap || !window.DataTransfer) return Promise.resolve(f);
    return createImageBitmap(f, { imageOrientation: "from-image" }).then(function (bmp) {
      var k = Math.min(1, MAX_SIDE / Math.max(bmp.width, bmp.height));
      var c = document.createElement("canvas");
      c.width = Math.round(bmp.width * k);
      c.height = Math.round(bmp.height * k);
      c.getContext("2d").drawImage(bmp, 0, 0, c.width, c.height);
      return new Promise(function (ok) {
        c.toBlob(function (b) {
          ok(b && b.size < f.size ? new File([b], f.name.replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" }) : f);
        }, "image/jpeg", 0.85);
      });
    }).catch(function () { return f; });
  }
  document.addEventListener("change", function (ev) {
    var input = ev.target;
    if (!input.matches || !input.matches("input[type=file][accept*=image]")) return;
    var body = document.body;
    var files = Array.prototype.slice.call(input.files || []);
    if (files.some(heic)) {
      input.value = "";
      note(input, body.getAttribute("data-msg-heic"));
      return;
    }
    if (!files.some(function (f) { return f.size >= MIN_BYTES; })) return;
    var form = input.form, button = form && form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    note(input, body.getAttribute("data-msg-resizing"));
    Promise.all(files.map(shrink)).then(function (out) {
      var dt = new DataTransfer();
      out.forEach(function (f) { dt.items.add(f); });
      input.files = dt.files;
      var kb = Math.round(out.reduce(function (s, f) { return s + f.size; }, 0) / 1024);
      note(input, body.getAttribute("data-msg-resized").replace("{kb}", kb));
      if (button) button.disabled = false;
    });
  });
})();
