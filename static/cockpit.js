// The cockpit's live figures: on each tick of /cockpit/events the figures fragment is fetched
// again and swapped in (the server renders it within the viewer's scope). No inline script.
(function () {
  var root = document.getElementById('cockpit');
  if (!root || !window.EventSource) return;
  var url = root.getAttribute('data-figures');
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(url, { credentials: 'same-origin' }).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (html) {
        var box = document.getElementById('cockpit-figures');
        var tpl = document.createElement('template');
        tpl.innerHTML = html.trim();
        var fresh = tpl.content.firstElementChild;
        if (box && fresh) box.replaceWith(fresh);
        root.setAttribute('data-ticks', String(Number(root.getAttribute('data-ticks') || 0) + 1));
      }
    }).catch(function () {}).then(function () {
      busy = false;
      if (again) { again = false; refresh(); }
    });
  }
  var es = new EventSource(root.getAttribute('data-events'));
  es.addEventListener('ready', function () { root.setAttribute('data-live', '1'); });
  es.addEventListener('tick', refresh);
})();
