// QR scanning: the browser's BarcodeDetector where it has one (Chrome on Android), otherwise
// the vendored jsQR (Safari on iPad, Chromium on Linux). `decodeImage` is the same decoder on a
// picture, so a test can prove the page reads the app's own ticket PNG.
"use strict";

const FRAME_MS = 150;

async function nativeDetector() {
  if (!("BarcodeDetector" in self)) {
    return null;
  }
  try {
    const formats = await self.BarcodeDetector.getSupportedFormats();
    return formats.includes("qr_code") ? new self.BarcodeDetector({ formats: ["qr_code"] }) : null;
  } catch (error) {
    return null;
  }
}

/** Which decoder this browser uses ("BarcodeDetector" or "jsQR"). */
export async function decoderName() {
  return (await nativeDetector()) ? "BarcodeDetector" : "jsQR";
}

function decodeWithJsQR(imageData) {
  const found = self.jsQR(imageData.data, imageData.width, imageData.height, {
    inversionAttempts: "attemptBoth",
  });
  return found ? found.data : null;
}

function pixels(source, width, height, canvas) {
  const c = canvas || document.createElement("canvas");
  c.width = width;
  c.height = height;
  const ctx = c.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(source, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height);
}

async function decodeSource(source, width, height, canvas, detector) {
  if (detector) {
    const codes = await detector.detect(source);
    return codes.length ? codes[0].rawValue : null;
  }
  return decodeWithJsQR(pixels(source, width, height, canvas));
}

/** Decode the QR in an image (a URL or a data: URL); null if there is none. */
export async function decodeImage(src) {
  const image = new Image();
  image.src = src;
  await image.decode();
  return decodeSource(image, image.naturalWidth, image.naturalHeight, null, await nativeDetector());
}

/** The camera, read a few times a second; `onCode(text)` for each QR found. */
export class Scanner {
  constructor(video, onCode) {
    this.video = video;
    this.onCode = onCode;
    this.canvas = document.createElement("canvas");
    this.stream = null;
    this.timer = null;
  }

  get running() {
    return this.stream !== null;
  }

  async start() {
    this.detector = await nativeDetector();
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
    this.video.srcObject = this.stream;
    await this.video.play();
    this.tick();
  }

  tick() {
    this.timer = setTimeout(async () => {
      if (!this.stream) {
        return;
      }
      const { videoWidth: w, videoHeight: h } = this.video;
      if (w && h) {
        try {
          const scale = Math.min(1, 800 / w);
          const text = await decodeSource(
            this.video, Math.round(w * scale), Math.round(h * scale), this.canvas, this.detector);
          if (text) {
            this.onCode(text);
          }
        } catch (error) {
          // A frame that cannot be read is skipped.
        }
      }
      this.tick();
    }, FRAME_MS);
  }

  stop() {
    clearTimeout(this.timer);
    if (this.stream) {
      this.stream.getTracks().forEach((track) => track.stop());
    }
    this.stream = null;
    this.video.srcObject = null;
  }
}
