// Records a prompt in the browser: the microphone's sound is captured as PCM, shown on a level
// meter, and on stop encoded as a 16-bit mono WAV file that is put in the form's file field, so
// the form's own Save button uploads it (the box trims and levels it like any upload).
(function () {
  "use strict";

  var maxSeconds = 120;

  function wavFile(chunks, rate) {
    var n = 0;
    chunks.forEach(function (c) { n += c.length; });
    var buf = new ArrayBuffer(44 + 2 * n);
    var v = new DataView(buf);
    function str(off, s) {
      for (var i = 0; i < s.length; i++) {
        v.setUint8(off + i, s.charCodeAt(i));
      }
    }
    str(0, "RIFF");
    v.setUint32(4, 36 + 2 * n, true);
    str(8, "WAVE");
    str(12, "fmt ");
    v.setUint32(16, 16, true);
    v.setUint16(20, 1, true); // PCM
    v.setUint16(22, 1, true); // mono
    v.setUint32(24, rate, true);
    v.setUint32(28, rate * 2, true);
    v.setUint16(32, 2, true);
    v.setUint16(34, 16, true);
    str(36, "data");
    v.setUint32(40, 2 * n, true);
    var off = 44;
    chunks.forEach(function (c) {
      for (var i = 0; i < c.length; i++) {
        var s = Math.max(-1, Math.min(1, c[i]));
        v.setInt16(off, s < 0 ? s * 0x8000 : s * 0x7fff, true);
        off += 2;
      }
    });
    return new File([buf], "recording.wav", { type: "audio/wav" });
  }

  function setup(box) {
    if (box.dataset.ready) {
      return;
    }
    box.dataset.ready = "1";
    // The file field the recording goes to: the recorder's own part of a bigger form, or its form.
    var scope = box.closest("[data-record-scope]") || box.closest("form");
    var input = scope.querySelector("input[type=file]");
    var start = box.querySelector("[data-rec-start]");
    var stop = box.querySelector("[data-rec-stop]");
    var meter = box.querySelector("[data-rec-meter]");
    var status = box.querySelector("[data-rec-status]");
    var rec = null;
    box.hidden = false;

    function finish() {
      if (!rec) {
        return;
      }
      var r = rec;
      rec = null;
      r.node.disconnect();
      r.source.disconnect();
      r.stream.getTracks().forEach(function (t) { t.stop(); });
      r.ctx.close();
      var dt = new DataTransfer();
      dt.items.add(wavFile(r.chunks, r.ctx.sampleRate));
      input.files = dt.files;
      start.disabled = false;
      stop.disabled = true;
      status.textContent = box.dataset.msgDone.replace("%s", (r.samples / r.ctx.sampleRate).toFixed(1));
    }

    start.addEventListener("click", function () {
      navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false } }).then(function (stream) {
        var ctx = new AudioContext();
        var source = ctx.createMediaStreamSource(stream);
        var node = ctx.createScriptProcessor(4096, 1, 1);
        rec = { ctx: ctx, stream: stream, source: source, node: node, chunks: [], samples: 0 };
        var r = rec;
        node.onaudioprocess = function (e) {
          if (rec !== r) {
            return;
          }
          var data = new Float32Array(e.inputBuffer.getChannelData(0));
          r.chunks.push(data);
          r.samples += data.length;
          var sum = 0;
          for (var i = 0; i < data.length; i++) {
            sum += data[i] * data[i];
          }
          var db = 10 * Math.log10(sum / data.length + 1e-10);
          meter.value = Math.max(-60, Math.min(0, db));
          var secs = r.samples / ctx.sampleRate;
          status.textContent = box.dataset.msgRecording.replace("%s", secs.toFixed(1));
          if (secs >= maxSeconds) {
            finish();
          }
        };
        source.connect(node);
        node.connect(ctx.destination);
        start.disabled = true;
        stop.disabled = false;
        stop.focus();
      }, function () {
        status.textContent = box.dataset.msgDenied;
      });
    });
    stop.addEventListener("click", finish);
  }

  function init() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.AudioContext || !window.DataTransfer) {
      return; // no microphone here (or a page not served over HTTPS): upload a file instead
    }
    document.querySelectorAll("[data-recorder]").forEach(setup);
  }

  if (!window.hotlineRecord) {
    window.hotlineRecord = true;
    init();
    document.addEventListener("hotline:content", init);
  }
})();
