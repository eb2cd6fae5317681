// The cockpit's live figures: on each tick of /cockpit/events the figures fragment is fetched
// again and swapped in (the server renders it within the viewer's scope). No inline script.
(function () {
  var root = document.getElementById('cockpit');
  if (!root) return;
  // "PNG": the chart's SVG file (which carries its own style) drawn on a canvas at twice its
  // size, offered as a download. Nothing leaves the browser; no library is needed.
  document.addEventListener('click', function (ev) {
    var a = ev.target.closest ? ev.target.closest('a[data-png]') : null;
    if (!a) return;
    ev.preventDefault();
    fetch(a.getAttribute('data-png'), { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r.text();
    }).then(function (svg) {
      var img = new Image();
      img.onload = function () {
        var scale = 2, c = document.createElement('canvas');
        c.width = img.naturalWidth * scale || 1280;
        c.height = img.naturalHeight * scale || 840;
        var g = c.getContext('2d');
        g.fillStyle = '#fff';
        g.fillRect(0, 0, c.width, c.height);
        g.drawImage(img, 0, 0, c.width, c.height);
        c.toBlob(function (blob) {
          var link = document.createElement('a');
          link.download = a.getAttribute('data-name') || 'chart.png';
          link.href = URL.createObjectURL(blob);
          document.body.appendChild(link);
          link.click();
          link.remove();
          root.setAttribute('data-png', link.download);
        }, 'image/png');
      };
      img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg);
    }).catch(function () { root.setAttribute('data-png', 'failed'); });
  });
  if (!window.EventSource) return;
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
