// The test-call page: the browser calls the box over a WebSocket. The microphone and the
// keypad's DTMF tones go out as 20 ms frames of 8 kHz 16-bit audio; the box's frames are played
// back. data-heard-frames on #testcall counts the frames heard from the box.
'use strict';

(function () {
  const box = document.getElementById('testcall');
  if (!box) return;
  const status = document.getElementById('tc-status');
  const callBtn = document.getElementById('tc-call');
  const hangBtn = document.getElementById('tc-hangup');
  const keys = Array.from(box.querySelectorAll('.tc-key'));
  const words = box.dataset;

  // DTMF: the low (row) and high (column) tone of each key, in Hz.
  const ROWS = { 1: 697, 2: 697, 3: 697, 4: 770, 5: 770, 6: 770, 7: 852, 8: 852, 9: 852, '*': 941, 0: 941, '#': 941 };
  const COLS = { 1: 1209, 2: 1336, 3: 1477, 4: 1209, 5: 1336, 6: 1477, 7: 1209, 8: 1336, 9: 1477, '*': 1209, 0: 1336, '#': 1477 };

  let ws = null;
  let ctx = null;
  let node = null;
  let mic = null;
  let heard = 0;

  function say(text) { status.textContent = text; }

  function setCalling(on) {
    callBtn.disabled = on;
    hangBtn.disabled = !on;
  }

  function setKeys(on) { keys.forEach(function (k) { k.disabled = !on; }); }

  function cleanup(text) {
    if (ws) {
      const w = ws;
      ws = null;
      w.onclose = null;
      if (w.readyState === WebSocket.OPEN) {
        try { w.send('hangup'); } catch (e) { /* closing anyway */ }
      }
      w.close();
    }
    if (mic) { mic.getTracks().forEach(function (t) { t.stop(); }); mic = null; }
    if (ctx) { ctx.close(); ctx = null; node = null; }
    setCalling(false);
    setKeys(false);
    if (text) say(text);
  }

  async function call() {
    setCalling(true);
    say(words.wordsCalling);
    heard = 0;
    box.dataset.heardFrames = '0';
    try {
      mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: false, autoGainControl: false } });
    } catch (e) {
      cleanup(words.wordsNomic);
      return;
    }
    ctx = new AudioContext();
    await ctx.audioWorklet.addModule(box.dataset.worklet);
    if (!mic) return; // hung up meanwhile
    node = new AudioWorkletNode(ctx, 'hotline-line', { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
    ctx.createMediaStreamSource(mic).connect(node);
    node.connect(ctx.destination);

    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    ws = new WebSocket(scheme + location.host + '/testcall/ws');
    ws.binaryType = 'arraybuffer';
    node.port.onmessage = function (e) {
      if (ws && ws.readyState === WebSocket.OPEN && ws.bufferedAmount < 32000) ws.send(e.data);
    };
    ws.onmessage = function (e) {
      if (typeof e.data === 'string') {
        if (e.data === 'busy') cleanup(words.wordsBusy);
        return;
      }
      if (e.data.byteLength !== 320 || !node) return;
      heard++;
      box.dataset.heardFrames = String(heard);
      if (heard === 1) {
        say(words.wordsUp);
        setKeys(true);
      }
      node.port.postMessage(e.data, [e.data]);
    };
    ws.onclose = function () { ws = null; cleanup(words.wordsEnded); };
    ws.onerror = function () { /* onclose follows */ };
    await ctx.resume();
  }

  function press(key) {
    if (!ctx || !node) return;
    const t = ctx.currentTime + 0.01;
    [ROWS[key], COLS[key]].forEach(function (f) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = f;
      gain.gain.value = 0.25;
      osc.connect(gain).connect(node);
      osc.start(t);
      osc.stop(t + 0.1);
    });
    say(words.wordsKey + ' ' + key);
  }

  callBtn.addEventListener('click', function () { call().catch(function () { cleanup(words.wordsEnded); }); });
  hangBtn.addEventListener('click', function () { cleanup(words.wordsEnded); });
  keys.forEach(function (k) {
    k.addEventListener('click', function () { press(k.dataset.key); });
  });
  window.addEventListener('pagehide', function () { cleanup(''); });
})();
