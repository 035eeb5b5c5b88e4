// Sends a form with a file (a prompt, a backup) in the background and shows how far the upload
// is; the answer replaces the page's content. Without this script the form posts as usual.
// After a restore it waits for the box to come back from its restart.
(function () {
  "use strict";

  function swapMain(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.querySelector("main");
    var main = document.querySelector("main");
    if (!fresh || !main) {
      return false;
    }
    main.replaceWith(document.adoptNode(fresh));
    init();
    document.dispatchEvent(new Event("hotline:content"));
    return true;
  }

  function setup(form) {
    if (form.dataset.ready) {
      return;
    }
    form.dataset.ready = "1";
    var bar = form.querySelector("[data-progress]");
    var status = form.querySelector("[data-upload-status]");
    form.addEventListener("submit", function (ev) {
      if (!window.FormData || !window.XMLHttpRequest) {
        return;
      }
      ev.preventDefault();
      var data = new FormData(form); // in the order of the page: the form token first
      var buttons = form.querySelectorAll("button");
      buttons.forEach(function (b) { b.disabled = true; });
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) {
          return;
        }
        var pct = Math.floor(e.loaded * 100 / e.total);
        bar.hidden = false;
        bar.value = pct;
        status.textContent = pct >= 100 ? form.dataset.msgChecking : form.dataset.msgUploading.replace("%d", pct);
      });
      xhr.addEventListener("load", function () {
        var to = xhr.responseURL || "";
        if (to && to.split("#")[0] !== form.action.split("#")[0] && xhr.status < 400) {
          window.location.assign(to); // saved: the page it leads to
          return;
        }
        if (!swapMain(xhr.responseText)) {
          status.textContent = form.dataset.msgFailed;
          buttons.forEach(function (b) { b.disabled = false; });
        }
      });
      xhr.addEventListener("error", function () {
        status.textContent = form.dataset.msgFailed;
        buttons.forEach(function (b) { b.disabled = false; });
      });
      xhr.send(data);
    });
  }

  // waitForRestart polls the box while it restarts and opens the admin when it is back.
  function waitForRestart() {
    var seenDown = false;
    var tries = 0;
    function poll() {
      tries++;
      fetch("/api/backup/status", { credentials: "same-origin", cache: "no-store" }).then(function (r) {
        if (!r.ok) {
          return { state: "gone" };
        }
        return r.json();
      }).then(function (s) {
        if (s.state === "pending" && !seenDown && tries < 600) {
          setTimeout(poll, 2000);
          return;
        }
        window.location.assign("/");
      }, function () {
        seenDown = true;
        setTimeout(poll, 2000);
      });
    }
    setTimeout(poll, 3000);
  }

  function init() {
    document.querySelectorAll("form[data-upload]").forEach(setup);
    if (document.querySelector("[data-restart-wait]")) {
      waitForRestart();
    }
  }

  if (!window.hotlineUpload) {
    window.hotlineUpload = true;
    init();
  }
})();
