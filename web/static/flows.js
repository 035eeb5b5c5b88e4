// The flow editor: a step's prompt can be recorded (record.js) or uploaded right in the step,
// saved as the owner's prompt in the background and chosen in the step's list, without leaving
// the page or losing the unsaved changes. Without this script the lists are all there is.
(function () {
  "use strict";

  function setup(form, box) {
    var select = document.getElementById(box.dataset.select);
    var open = box.previousElementSibling;
    var name = box.querySelector("[data-ip-name]");
    var file = box.querySelector("[data-ip-file]");
    var save = box.querySelector("[data-ip-save]");
    var status = box.querySelector("[data-ip-status]");
    if (!select || !open || !open.hasAttribute("data-ip-open")) {
      return;
    }
    open.hidden = false;
    open.addEventListener("click", function () {
      var show = box.hidden;
      box.hidden = !show;
      open.setAttribute("aria-expanded", show ? "true" : "false");
      if (show) {
        name.focus();
      }
    });

    // chosen adds the saved prompt to every prompt list that lacks it and picks it here.
    function chosen(p) {
      form.querySelectorAll("select[data-prompt-select]").forEach(function (s) {
        var found = Array.prototype.some.call(s.options, function (o) { return o.value === p.name; });
        if (!found) {
          s.add(new Option(p.label, p.name));
        }
      });
      select.value = p.name;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }

    // Enter in the name saves the recording, not the whole menu.
    name.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") {
        ev.preventDefault();
        save.click();
      }
    });

    save.addEventListener("click", function () {
      if (!file.files || file.files.length === 0) {
        status.textContent = box.dataset.msgNofile;
        return;
      }
      if (!name.checkValidity()) {
        status.textContent = name.validationMessage;
        name.focus();
        return;
      }
      var data = new FormData();
      // The form token goes first: the box reads it before the sound.
      data.append("csrf", form.querySelector("input[name=csrf]").value);
      data.append("lang", form.dataset.promptLang);
      data.append("name", name.value);
      data.append("audio", file.files[0], file.files[0].name || "recording.wav");
      save.disabled = true;
      status.textContent = box.dataset.msgSaving;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.promptUrl);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.responseType = "json";
      xhr.addEventListener("load", function () {
        save.disabled = false;
        var body = xhr.response || {};
        if (xhr.status !== 200 || !body.name) {
          status.textContent = body.error || box.dataset.msgFailed;
          return;
        }
        chosen(body);
        file.value = "";
        status.textContent = box.dataset.msgSaved.replace("%s", body.name);
      });
      xhr.addEventListener("error", function () {
        save.disabled = false;
        status.textContent = box.dataset.msgFailed;
      });
      xhr.send(data);
    });
  }

  function init() {
    var form = document.getElementById("flow-form");
    if (!form || !window.FormData || !window.XMLHttpRequest) {
      return;
    }
    form.querySelectorAll("[data-inline-prompt]").forEach(function (box) {
      setup(form, box);
    });
  }

  init();
})();
