// After pairing: the token goes into this tablet's storage (IndexedDB), whatever an earlier
// pairing left there is wiped, and the check-in page opens.
"use strict";

import * as store from "./store.js";

const element = document.querySelector("[data-paired]");
const status = document.querySelector("[data-paired-status]");

async function save() {
  const token = element.dataset.deviceToken;
  element.removeAttribute("data-device-token");
  await store.wipe();
  await store.setMeta("token", token);
  await store.setMeta("device", { id: Number(element.dataset.deviceId), name: element.dataset.deviceName });
  status.textContent = "登録情報を保存しました。受付画面を開きます。";
  location.replace("/checkin/");
}

if (element && element.dataset.deviceToken) {
  save().catch(() => {
    status.textContent = "登録情報を保存できませんでした。ブラウザのプライベートモードを終了して、もう一度登録してください。";
  });
}
