// The test call's audio worklet: it turns what the microphone (and the keypad's tones) give at
// the browser's rate into 20 ms frames of 8 kHz 16-bit audio for the box, and plays the box's
// frames back, resampled to the browser's rate, from a small buffer.
'use strict';

const FRAME = 160; // samples in 20 ms at 8 kHz
const START = 3;   // frames buffered before playback starts (60 ms)
const MAXQ = 25;   // frames kept at most (500 ms); older ones give way

class HotlineLine extends AudioWorkletProcessor {
  constructor() {
    super();
    this.ratio = sampleRate / 8000; // input samples per 8 kHz sample
    this.pos = 0;
    this.acc = 0;
    this.n = 0;
    this.out = new Int16Array(FRAME);
    this.fill = 0;
    this.queue = [];       // Int16Array frames from the box
    this.cur = null;       // frame being played
    this.idx = 0;          // position in it, in 8 kHz samples (fractional)
    this.playing = false;
    this.port.onmessage = (e) => {
      this.queue.push(new Int16Array(e.data));
      if (this.queue.length > MAXQ) this.queue.shift();
    };
  }

  capture(input) {
    for (let i = 0; i < input.length; i++) {
      this.acc += input[i];
      this.n++;
      this.pos += 1;
      if (this.pos >= this.ratio) {
        this.pos -= this.ratio;
        let v = this.acc / this.n;
        this.acc = 0;
        this.n = 0;
        v = Math.max(-1, Math.min(1, v));
        this.out[this.fill++] = Math.round(v * 32767);
        if (this.fill === FRAME) {
          const buf = this.out.buffer;
          this.port.postMessage(buf, [buf]);
          this.out = new Int16Array(FRAME);
          this.fill = 0;
        }
      }
    }
  }

  sample() {
    if (!this.playing) {
      if (this.queue.length < START) return 0;
      this.playing = true;
    }
    while (this.cur === null || this.idx >= FRAME) {
      if (this.cur !== null) this.idx -= FRAME;
      this.cur = this.queue.shift() || null;
      if (this.cur === null) {
        this.playing = false;
        this.idx = 0;
        return 0;
      }
    }
    const v = this.cur[Math.floor(this.idx)] / 32768;
    this.idx += 1 / this.ratio;
    return v;
  }

  process(inputs, outputs) {
    const input = inputs[0];
    if (input && input.length > 0) {
      this.capture(input[0]);
    } else {
      // No input connected yet: keep time with silence.
      this.capture(new Float32Array(128));
    }
    const output = outputs[0];
    if (output && output.length > 0) {
      const ch = output[0];
      for (let i = 0; i < ch.length; i++) ch[i] = this.sample();
      for (let c = 1; c < output.length; c++) output[c].set(ch);
    }
    return true;
  }
}

registerProcessor('hotline-line', HotlineLine);
