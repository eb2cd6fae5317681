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
