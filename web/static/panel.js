// The operator panel reloads itself when a call comes or goes on a line, or changes state
// (menu, queue, ringing, talking), unless a note or a script is being typed or an operator
// is being picked.
(function () {
  "use strict";
  var every = 3000;
  var last = null;
  var dirty = false;
  document.addEventListener("input", function () { dirty = true; });
  function sig(data) {
    return (data.lines || []).map(function (l) {
      return l.id + ":" + l.in_call + ":" + l.call_id + ":" + l.display_number + ":" +
        (l.call_state || "") + ":" + (l.with || []).join(",");
    }).join("|");
  }
  function poll() {
    fetch("/api/panel", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var s = sig(data);
        if (last !== null && s !== last && !dirty) {
          window.location.reload();
          return;
        }
        last = s;
      })
      .catch(function () {})
      .then(function () { window.setTimeout(poll, every); });
  }
  poll();
})();
