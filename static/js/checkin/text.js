// Text as people type it at the door, and times as the door shows them.
"use strict";

const TIME = new Intl.DateTimeFormat("ja-JP", {
  timeZone: "Asia/Tokyo", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});
const DAY = new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Tokyo" });

/** NFKC, spaces removed: 全角 letters and digits become 半角. */
export function compact(text) {
  return (text || "").normalize("NFKC").replace(/\s+/g, "");
}

/** フリガナ as typed (ひらがな, 半角カナ) → 全角カタカナ, spaces removed; as the server does. */
export function kana(text) {
  return compact(text).replace(/[\u3041-\u3096\u309d\u309e]/g,
    (ch) => String.fromCharCode(ch.charCodeAt(0) + 0x60));
}

/** A ticket code as typed: 全角, lower case, hyphens and spaces are fine. */
export function ticket(text) {
  return compact(text).toUpperCase().replace(/[^0-9A-Z]/g, "").slice(0, 40);
}

export function hhmm(iso) {
  return iso ? TIME.format(new Date(iso)) : "";
}

/** Today's date in Japan (YYYY-MM-DD): local data of another day is deleted. */
export function today() {
  return DAY.format(new Date());
}

export function nowIso() {
  return new Date().toISOString();
}

export function newUuid() {
  if (self.crypto && crypto.randomUUID) {
    return crypto.randomUUID();
  }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function fullName(row) {
  return `${row.family_name} ${row.given_name}`;
}

export function fullKana(row) {
  return `${row.family_name_kana} ${row.given_name_kana}`;
}
