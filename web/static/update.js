// After an update was installed the box restarts into it: wait until it has gone and come
// back, then open the update page again, which tells how the new version came up. Without
// this script the page shows a link to reload.
(function () {
  "use strict";
  if (!document.querySelector("[data-update-wait]")) {
    return;
  }
  var seenDown = false;
  var tries = 0;
  function poll() {
    tries++;
    fetch("/api/update/status", { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok) {
        throw new Error("status " + r.status);
      }
      return r.json();
    }).then(function () {
      if (seenDown || tries > 300) {
        window.location.assign("/update");
        return;
      }
      setTimeout(poll, 2000);
    }, function () {
      seenDown = true;
      setTimeout(poll, 2000);
    });
  }
  setTimeout(poll, 2000);
})();
