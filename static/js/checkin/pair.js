// The pairing page: the code from the staff page's QR (read with the camera, or from the
// address the QR holds: /checkin/pair#code=…) or typed by hand.
"use strict";

import { Scanner } from "./scanner.js";

const input = document.querySelector("#code");
const fromHash = new URLSearchParams(location.hash.slice(1)).get("code");
if (input && fromHash && !input.value) {
  input.value = fromHash;
}

const button = document.querySelector("[data-camera]");
if (button && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
  button.hidden = false;
  let scanner = null;
  button.addEventListener("click", async () => {
    const box = document.querySelector("[data-scanner]");
    if (scanner && scanner.running) {
      scanner.stop();
      box.hidden = true;
      button.setAttribute("aria-pressed", "false");
      return;
    }
    scanner = scanner || new Scanner(document.querySelector("[data-video]"), (text) => {
      let code = text;
      try {
        code = new URLSearchParams(new URL(text).hash.slice(1)).get("code") || text;
      } catch (error) {
        // Not an address: the code itself.
      }
      scanner.stop();
      input.value = code;
      document.querySelector("[data-pair-form]").requestSubmit();
    });
    box.hidden = false;
    try {
      await scanner.start();
      button.setAttribute("aria-pressed", "true");
    } catch (error) {
      box.hidden = true;
    }
  });
}
