// The answer at the door: a colour, a symbol, words and a sound (never colour alone).
"use strict";

let audio = null;

function context() {
  const Context = self.AudioContext || self.webkitAudioContext;
  if (!Context) {
    return null;
  }
  if (!audio) {
    audio = new Context();
  }
  if (audio.state === "suspended") {
    audio.resume().catch(() => {});
  }
  return audio;
}

const SOUNDS = {
  ok: [[880, 0, 0.12]],
  warn: [[660, 0, 0.12], [660, 0.18, 0.12]],
  error: [[220, 0, 0.45]],
};

export function beep(kind) {
  const ctx = context();
  if (!ctx || !SOUNDS[kind]) {
    return;
  }
  const start = ctx.currentTime + 0.01;
  for (const [frequency, offset, length] of SOUNDS[kind]) {
    const oscillator = ctx.createOscillator();
    const gain = ctx.createGain();
    oscillator.type = kind === "error" ? "square" : "sine";
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.2, start + offset);
    gain.gain.exponentialRampToValueAtTime(0.001, start + offset + length);
    oscillator.connect(gain).connect(ctx.destination);
    oscillator.start(start + offset);
    oscillator.stop(start + offset + length + 0.02);
  }
}

/** Show an answer: kind is "ok" (green), "warn" (amber), "error" (red) or "busy". */
export function show(box, kind, title, detail = "", { sound = true } = {}) {
  box.className = `feedback feedback--${kind}`;
  box.dataset.kind = kind;
  box.querySelector("[data-feedback-title]").textContent = title;
  box.querySelector("[data-feedback-detail]").textContent = detail;
  if (sound) {
    setTimeout(() => beep(kind), 0); // after the answer is on the screen
  }
}
