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
