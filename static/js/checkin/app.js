// The check-in page. Every scan or tap is answered at once from the local roster (IndexedDB),
// online or offline; check-ins wait in a local queue with their UUID and scan time and are sent
// at start, when the network returns, when the page becomes visible and on a timer. The server
// decides (one row per person and session); its answers are shown when they arrive.
"use strict";

import { call, Offline, Unauthorized } from "./api.js";
import { show } from "./feedback.js";
import { Scanner } from "./scanner.js";
import * as store from "./store.js";
import { compact, fullKana, fullName, hhmm, kana, newUuid, nowIso, ticket, today } from "./text.js";

const SYNC_EVERY_MS = 15000;
const ROSTER_EVERY_MS = 60000;
const BATCH_SIZE = 50;
const SAME_CODE_MS = 3000;

const $ = (selector) => document.querySelector(selector);
const state = {
  token: null,
  device: null,
  sessions: [],
  sessionId: null,
  rows: new Map(), // ticket → row of the chosen session
  counts: { walk_ins: 0 },
  online: navigator.onLine,
  undoSeconds: 60,
  undo: null, // {uuid, ticket, until}
  syncing: null,
  syncAgain: false,
  scanner: null,
  lastCode: { text: "", at: 0 },
};
const box = () => $("[data-feedback]");

// ---------------------------------------------------------------------------------------------
// Start

async function start() {
  state.token = await store.getMeta("token");
  if (!state.token) {
    $("[data-unpaired]").hidden = false;
    return;
  }
  await store.forgetOtherDays(today());
  state.device = (await store.getMeta("device")) || null;
  state.undoSeconds = (await store.getMeta("undo_seconds")) || 60;
  $("[data-device-name]").textContent = state.device ? state.device.name : "";
  $("[data-app]").hidden = false;
  wire();
  state.sessions = await store.sessions();
  state.sessionId = (await store.getMeta("session_id")) || null;
  renderSessions();
  await loadRoster();
  setOnline(navigator.onLine);
  registerServiceWorker();
  await refresh();
  setInterval(() => sync(), SYNC_EVERY_MS);
  setInterval(() => refresh(), ROSTER_EVERY_MS);
}

function registerServiceWorker() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/checkin/sw.js", { scope: "/checkin/" }).catch(() => {});
  }
}

function wire() {
  window.addEventListener("online", () => { setOnline(true); refresh(); });
  window.addEventListener("offline", () => setOnline(false));
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      refresh();
    }
  });
  $("[data-session]").addEventListener("change", async (event) => {
    state.sessionId = Number(event.target.value);
    await store.setMeta("session_id", state.sessionId);
    await loadRoster();
    refresh();
  });
  $("[data-ticket-form]").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("#ticket");
    checkIn(input.value, "qr");
    input.value = "";
    input.focus();
  });
  $("[data-search]").addEventListener("input", renderResults);
  $("[data-results]").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-ticket]");
    if (button) {
      checkIn(button.dataset.ticket, "name");
    }
  });
  $("[data-undo]").addEventListener("click", undo);
  $("[data-camera]").addEventListener("click", toggleCamera);
  $("[data-walkin-form]").addEventListener("submit", walkIn);
}

function setOnline(online) {
  state.online = online;
  const net = $("[data-network]");
  net.textContent = online ? "オンライン" : "オフライン";
  net.classList.toggle("checkin-net--offline", !online);
}

async function renderPending() {
  const n = (await store.queued()).length;
  const pending = $("[data-pending]");
  pending.textContent = `送信待ち ${n}`;
  pending.classList.toggle("checkin-pending--waiting", n > 0);
}

// ---------------------------------------------------------------------------------------------
// Sessions, roster, counts

function renderSessions() {
  const select = $("[data-session]");
  select.replaceChildren();
  for (const s of state.sessions) {
    const option = document.createElement("option");
    option.value = s.id;
    option.textContent = `${s.event_title} 第${s.number}回 ${hhmm(s.starts_at)}〜${hhmm(s.ends_at)} ${s.venue}`;
    select.append(option);
  }
  if (!state.sessions.some((s) => s.id === state.sessionId)) {
    state.sessionId = state.sessions.length ? state.sessions[0].id : null;
  }
  if (state.sessionId) {
    select.value = String(state.sessionId);
  }
  $("[data-no-session]").hidden = state.sessions.length > 0;
}

async function loadRoster() {
  state.rows = new Map();
  if (state.sessionId) {
    for (const row of await store.roster(state.sessionId)) {
      state.rows.set(row.ticket, row);
    }
    const session = state.sessions.find((s) => s.id === state.sessionId);
    state.counts = (session && session.counts) || { walk_ins: 0 };
  }
  renderCounts();
  renderResults();
  await renderPending();
}

function renderCounts() {
  const rows = [...state.rows.values()];
  const localWalkIns = rows.filter((r) => r.walk_in && r.pending).length;
  const counts = {
    confirmed: rows.filter((r) => r.status === "confirmed" || r.walk_in).length,
    checked_in: rows.filter((r) => r.checked_in_at).length,
    walk_ins: (state.counts.walk_ins || 0) + localWalkIns,
  };
  for (const [name, value] of Object.entries(counts)) {
    $(`[data-count="${name}"]`).textContent = value;
  }
}

function keepLocal(row) {
  return Boolean(row.pending);
}

/** Online: today's sessions and the chosen session's roster from the server; then send. */
async function refresh() {
  if (!state.token) {
    return;
  }
  if (await store.forgetOtherDays(today())) {
    await loadRoster(); // past midnight with the page open: yesterday's roster goes
  }
  try {
    const me = await call(state.token, "GET", "/devices/me");
    setOnline(true);
    state.device = me.body.device;
    state.undoSeconds = me.body.undo_seconds || 60;
    await store.setMeta("device", state.device);
    await store.setMeta("undo_seconds", state.undoSeconds);
    $("[data-device-name]").textContent = state.device.name;
    state.sessions = me.body.sessions;
    await store.putSessions(state.sessions);
    renderSessions();
    await sync();
    if (state.sessionId) {
      const answer = await call(state.token, "GET", `/sessions/${state.sessionId}/roster`);
      if (answer.status === 200) {
        const sessionId = state.sessionId;
        const local = new Map([...state.rows.values()].filter(keepLocal).map((r) => [r.ticket, r]));
        const rows = answer.body.registrations.map((r) => ({
          ...r,
          key: store.rowKey(sessionId, r.ticket),
          session_id: sessionId,
          ...(local.has(r.ticket) ? pick(local.get(r.ticket)) : {}),
        }));
        await store.replaceRoster(sessionId, rows, keepLocal);
        await loadRoster();
      }
    }
  } catch (error) {
    handleFailure(error);
  }
}

function pick(row) {
  return { checked_in_at: row.checked_in_at, pending: row.pending, by_me: row.by_me };
}

async function handleFailure(error) {
  if (error instanceof Unauthorized) {
    await revoked();
  } else if (error instanceof Offline) {
    setOnline(false);
  } else {
    throw error;
  }
}

/** The device was revoked (or its token is no longer valid): everything local goes. */
async function revoked() {
  state.token = null;
  if (state.scanner) {
    state.scanner.stop();
  }
  await store.wipe();
  state.rows = new Map();
  $("[data-app]").hidden = true;
  $("[data-revoked]").hidden = false;
  $("[data-device-name]").textContent = "未登録";
}

// ---------------------------------------------------------------------------------------------
// Checking in

function who(row) {
  return row.by_me ? "この端末" : "他の端末";
}

function mark(name) {
  if (self.performance && performance.mark) {
    performance.mark(name);
  }
}

/** A scan, a typed code or a tap on a name: answered at once from the local roster. */
function checkIn(raw, method) {
  mark("checkin:tap");
  const code = ticket(raw);
  if (!code) {
    show(box(), "error", "受付番号を読み取れませんでした", "もう一度読み取るか、受付番号を入力してください。");
    return;
  }
  if (!state.sessionId) {
    show(box(), "error", "受付する回を選んでください", "本日の回がない場合は、職員にお知らせください。");
    return;
  }
  const row = state.rows.get(code);
  box().dataset.item = "";
  if (row && row.checked_in_at) {
    show(box(), "warn", `受付済（${who(row)} ${hhmm(row.checked_in_at)}）`, `${fullName(row)} さん`);
    answered();
    return;
  }
  const uuid = newUuid();
  const item = {
    id: uuid, kind: "checkin", ticket: code, session_id: state.sessionId,
    scanned_at: nowIso(), method,
  };
  if (row) {
    row.checked_in_at = item.scanned_at;
    row.pending = uuid;
    row.by_me = true;
    show(box(), "ok", "受付しました", `${fullName(row)} さん`);
    answered();
    offerUndo(uuid, code);
    renderCounts();
    renderResults();
    persist(row, item);
    return;
  }
  if (state.online) {
    show(box(), "busy", "確認しています…", `受付番号 ${code}`, { sound: false });
    answered();
    sendNow(item);
    return;
  }
  queueUnknown(item);
  answered();
}

function answered() {
  mark("checkin:answer");
  if (!(self.performance && performance.measure)) {
    return;
  }
  performance.measure("checkin:tap-to-answer", "checkin:tap", "checkin:answer");
  // And once the browser has drawn it: the next frame after the answer.
  const tap = performance.getEntriesByName("checkin:tap").at(-1);
  requestAnimationFrame(() => setTimeout(() => {
    performance.measure("checkin:tap-to-paint", { start: tap.startTime, end: performance.now() });
  }, 0));
}

function queueUnknown(item) {
  const row = {
    key: store.rowKey(item.session_id, item.ticket), session_id: item.session_id,
    ticket: item.ticket, family_name: "未確認", given_name: `（${item.ticket}）`,
    family_name_kana: "", given_name_kana: "", status: "unconfirmed",
    checked_in_at: item.scanned_at, pending: item.id, by_me: true,
  };
  state.rows.set(row.ticket, row);
  box().dataset.item = item.id;
  show(box(), "warn", "未確認", `受付番号 ${item.ticket} は端末の名簿にありません。通信が戻ったときに確認します。`);
  renderCounts();
  persist(row, item);
}

async function persist(row, item) {
  await store.putRow(row);
  await store.enqueue(item);
  await renderPending();
  if (state.online) {
    sync();
  }
}

/** Online, a ticket not in the local roster: ask the server at once. */
async function sendNow(item) {
  try {
    const answer = await call(state.token, "POST", "/checkins", {
      id: item.id, ticket: item.ticket, session_id: item.session_id,
      scanned_at: item.scanned_at, method: item.method,
    });
    showServerAnswer(item, answer.status, answer.body, { live: true });
    await applyAnswer(item, answer.status, answer.body);
  } catch (error) {
    if (error instanceof Offline) {
      setOnline(false);
      queueUnknown(item);
    } else {
      await handleFailure(error);
    }
  }
}

function describe(item, status, body) {
  const name = body.family_name ? `${body.family_name} ${body.given_name} さん` : `受付番号 ${item.ticket}`;
  if (status === 201 && body.status === "checked_in") {
    return ["ok", "受付しました", name];
  }
  if (status === 200 && body.status === "already_checked_in") {
    const device = body.device && state.device && body.device.id === state.device.id ? "この端末" : "他の端末";
    return ["warn", `受付済（${device} ${hhmm(body.checked_in_at)}）`, name];
  }
  if (status === 200 && body.status === "undone") {
    return ["warn", "取り消し済みです", name];
  }
  return ["error", body.message || "受付できませんでした", name];
}

function showServerAnswer(item, status, body, { live = false } = {}) {
  const [kind, title, detail] = describe(item, status, body);
  if (live || box().dataset.item === item.id) {
    show(box(), kind, title, detail, { sound: live || kind !== "ok" });
  }
  if (kind === "ok" && live) {
    offerUndo(item.id, item.ticket);
  }
  return [kind, title, detail];
}

function log(kind, text) {
  const li = document.createElement("li");
  li.className = `log--${kind}`;
  li.textContent = `${hhmm(nowIso())} ${text}`;
  $("[data-log]").prepend(li);
}

/** The server's answer to a queued or immediate check-in, applied to the local roster. */
async function applyAnswer(item, status, body) {
  const current = item.session_id === state.sessionId;
  const oldKey = store.rowKey(item.session_id, item.ticket);
  const row = current ? state.rows.get(item.ticket) : null;
  if (status === 201 || (status === 200 && body.status === "already_checked_in")) {
    const updated = {
      ...(row || {}),
      session_id: item.session_id, ticket: body.ticket || item.ticket,
      family_name: body.family_name, given_name: body.given_name,
      family_name_kana: body.family_name_kana, given_name_kana: body.given_name_kana,
      status: "confirmed", checked_in_at: body.checked_in_at,
      by_me: Boolean(body.device && state.device && body.device.id === state.device.id),
      pending: null, walk_in: item.kind === "walk_in" || Boolean(row && row.walk_in),
    };
    updated.key = store.rowKey(item.session_id, updated.ticket);
    if (updated.key !== oldKey) {
      await store.deleteRow(oldKey);
      state.rows.delete(item.ticket);
    }
    await store.putRow(updated);
    if (current) {
      state.rows.set(updated.ticket, updated);
    }
  } else if (row && row.pending === item.id) {
    // Refused (or undone since): nothing counts locally any more.
    if (row.status === "unconfirmed") {
      state.rows.delete(item.ticket);
      await store.deleteRow(oldKey);
    } else {
      Object.assign(row, { checked_in_at: null, pending: null, by_me: false });
      await store.putRow(row);
    }
  }
  renderCounts();
  renderResults();
}

// ---------------------------------------------------------------------------------------------
// Sending the queue

async function sync() {
  if (!state.token) {
    return;
  }
  if (state.syncing) {
    // Something was queued while a send was under way: send again when it ends, not only at
    // the next interval (the new item was not in the list that send read).
    state.syncAgain = true;
    return state.syncing;
  }
  state.syncing = (async () => {
    do {
      state.syncAgain = false;
      await sendQueue();
    } while (state.syncAgain && state.online);
  })().finally(() => { state.syncing = null; });
  return state.syncing;
}

async function sendQueue() {
  let items = await store.queued();
  if (!items.length) {
    await renderPending();
    return;
  }
  try {
    for (const item of items.filter((i) => i.kind === "undo")) {
      const answer = await call(state.token, "DELETE", `/checkins/${item.target}`);
      if (answer.status !== 200) {
        log("error", `${item.label}：${answer.body.message || "取り消せませんでした"}`);
      }
      await store.dequeue(item.id);
    }
    items = items.filter((i) => i.kind === "checkin");
    for (let i = 0; i < items.length; i += BATCH_SIZE) {
      const chunk = items.slice(i, i + BATCH_SIZE);
      const answer = await call(state.token, "POST", "/checkins/batch", {
        checkins: chunk.map((c) => ({
          id: c.id, ticket: c.ticket, session_id: c.session_id,
          scanned_at: c.scanned_at, method: c.method,
        })),
      });
      if (answer.status !== 200) {
        log("error", answer.body.message || "送信できませんでした");
        break;
      }
      for (const [n, result] of answer.body.results.entries()) {
        const item = chunk[n];
        await settle(item, result.http_status, result);
      }
    }
    for (const item of (await store.queued()).filter((i) => i.kind === "walk_in")) {
      const answer = await call(state.token, "POST", "/walk-ins", item.payload);
      await settle(item, answer.status, answer.body);
    }
    setOnline(true);
  } catch (error) {
    await handleFailure(error);
  } finally {
    await renderPending();
  }
}

async function settle(item, status, body) {
  const [kind, title, detail] = describe(item, status, body);
  const row = state.rows.get(item.ticket);
  const wasUnconfirmed = row && row.status === "unconfirmed";
  // What was shown at the door was "受付しました"; say so only when the server says otherwise.
  if (kind !== "ok" || wasUnconfirmed || item.kind === "walk_in") {
    log(kind, `${detail}：${title}`);
    if (box().dataset.item === item.id || wasUnconfirmed) {
      show(box(), kind, title, detail);
    }
  }
  await applyAnswer(item, status, body);
  await store.dequeue(item.id);
}

// ---------------------------------------------------------------------------------------------
// Undo (within a minute of one's own tap)

function offerUndo(uuid, code) {
  box().dataset.item = uuid;
  state.undo = { uuid, ticket: code, until: Date.now() + state.undoSeconds * 1000 };
  const button = $("[data-undo]");
  button.hidden = false;
  clearTimeout(offerUndo.timer);
  offerUndo.timer = setTimeout(() => { button.hidden = true; state.undo = null; },
    state.undoSeconds * 1000);
}

async function undo() {
  const offer = state.undo;
  $("[data-undo]").hidden = true;
  state.undo = null;
  if (!offer) {
    return;
  }
  const row = state.rows.get(offer.ticket);
  const label = row ? `${fullName(row)} さん` : `受付番号 ${offer.ticket}`;
  const queued = (await store.queued()).find((i) => i.id === offer.uuid);
  if (queued) {
    await store.dequeue(offer.uuid); // never sent: nothing to undo on the server
  } else if (state.online) {
    try {
      const answer = await call(state.token, "DELETE", `/checkins/${offer.uuid}`);
      if (answer.status !== 200) {
        show(box(), "error", "取り消せませんでした", answer.body.message || label);
        return;
      }
    } catch (error) {
      if (!(error instanceof Offline)) {
        await handleFailure(error);
        return;
      }
      await store.enqueue({ id: newUuid(), kind: "undo", target: offer.uuid, label });
    }
  } else {
    await store.enqueue({ id: newUuid(), kind: "undo", target: offer.uuid, label });
  }
  if (row) {
    if (row.status === "unconfirmed") {
      state.rows.delete(row.ticket);
      await store.deleteRow(row.key);
    } else {
      Object.assign(row, { checked_in_at: null, pending: null, by_me: false });
      await store.putRow(row);
    }
  }
  show(box(), "warn", "受付を取り消しました", label);
  renderCounts();
  renderResults();
  await renderPending();
}

// ---------------------------------------------------------------------------------------------
// Search by name

function renderResults() {
  const list = $("[data-results]");
  const hint = $("[data-search-hint]");
  const query = $("[data-search]").value;
  list.replaceChildren();
  const text = compact(query);
  if (!text) {
    hint.textContent = "";
    return;
  }
  const asKana = kana(query);
  const found = [...state.rows.values()].filter((row) => row.status !== "unconfirmed" && (
    compact(fullName(row)).includes(text) || compact(fullKana(row)).includes(asKana)
    || row.ticket === ticket(query)));
  found.sort((a, b) => fullKana(a).localeCompare(fullKana(b), "ja"));
  hint.textContent = found.length ? `${found.length}名が見つかりました。` : "見つかりません。受付番号で確認してください。";
  for (const row of found.slice(0, 30)) {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.className = "checkin-result__name";
    name.textContent = `${fullName(row)} さん`;
    const kanaLine = document.createElement("span");
    kanaLine.className = "checkin-result__kana";
    kanaLine.textContent = fullKana(row);
    name.append(kanaLine);
    li.append(name);
    if (row.checked_in_at) {
      const done = document.createElement("span");
      done.className = "checkin-result__state";
      done.textContent = `受付済（${who(row)} ${hhmm(row.checked_in_at)}）`;
      li.append(done);
    } else {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button";
      button.dataset.ticket = row.ticket;
      button.textContent = "受付する";
      button.setAttribute("aria-label", `${fullName(row)} さんを受付する`);
      li.append(button);
    }
    list.append(li);
  }
}

// ---------------------------------------------------------------------------------------------
// The camera

async function toggleCamera() {
  const button = $("[data-camera]");
  if (state.scanner && state.scanner.running) {
    state.scanner.stop();
    $("[data-scanner]").hidden = true;
    button.textContent = "カメラで読み取る";
    button.setAttribute("aria-pressed", "false");
    return;
  }
  state.scanner = state.scanner || new Scanner($("[data-video]"), (text) => {
    const now = Date.now();
    if (text === state.lastCode.text && now - state.lastCode.at < SAME_CODE_MS) {
      state.lastCode.at = now; // the same ticket still in front of the camera: once is enough
      return;
    }
    state.lastCode = { text, at: now };
    checkIn(text, "qr");
  });
  $("[data-scanner]").hidden = false;
  try {
    await state.scanner.start();
    button.textContent = "カメラを止める";
    button.setAttribute("aria-pressed", "true");
  } catch (error) {
    $("[data-scanner]").hidden = true;
    show(box(), "error", "カメラを使えません", "ブラウザの設定でカメラを許可するか、受付番号を入力してください。");
  }
}

// ---------------------------------------------------------------------------------------------
// Walk-ins (当日参加)

async function walkIn(event) {
  event.preventDefault();
  const form = event.target;
  const error = $("[data-walkin-error]");
  const data = new FormData(form);
  const missing = ["family_name", "given_name", "family_name_kana", "given_name_kana", "age_group"]
    .filter((name) => !compact(data.get(name)));
  if (missing.length || !data.get("residency")) {
    error.textContent = "氏名・フリガナ・在住等・年代を入力してください。";
    error.hidden = false;
    return;
  }
  if (!data.get("consent")) {
    error.textContent = "本人に利用目的を説明し、同意を得てください。";
    error.hidden = false;
    return;
  }
  if (!state.sessionId) {
    error.textContent = "受付する回を選んでください。";
    error.hidden = false;
    return;
  }
  error.hidden = true;
  const uuid = newUuid();
  const payload = {
    id: uuid, session_id: state.sessionId, scanned_at: nowIso(),
    family_name: data.get("family_name"), given_name: data.get("given_name"),
    family_name_kana: data.get("family_name_kana"), given_name_kana: data.get("given_name_kana"),
    residency: data.get("residency"), age_group: data.get("age_group"),
    phone: compact(data.get("phone")).replace(/[^0-9]/g, ""), consent: true,
  };
  const item = { id: uuid, kind: "walk_in", ticket: `WALKIN${uuid.slice(0, 8).toUpperCase()}`,
    session_id: state.sessionId, payload };
  const label = `${payload.family_name} ${payload.given_name} さん`;
  if (state.online) {
    try {
      const answer = await call(state.token, "POST", "/walk-ins", payload);
      if (answer.status === 422) {
        error.textContent = Object.values(answer.body.fields || {}).join(" ") || answer.body.message;
        error.hidden = false;
        return;
      }
      const [kind, title] = describe(item, answer.status, answer.body);
      show(box(), kind, kind === "ok" ? "当日参加として受付しました" : title, label);
      if (kind === "ok") {
        form.reset();
        await applyAnswer(item, answer.status, answer.body);
        state.counts.walk_ins = (state.counts.walk_ins || 0) + 1;
        renderCounts();
      }
      return;
    } catch (failure) {
      if (!(failure instanceof Offline)) {
        await handleFailure(failure);
        return;
      }
      setOnline(false);
    }
  }
  const row = {
    key: store.rowKey(item.session_id, item.ticket), session_id: item.session_id,
    ticket: item.ticket, family_name: payload.family_name, given_name: payload.given_name,
    family_name_kana: kana(payload.family_name_kana), given_name_kana: kana(payload.given_name_kana),
    status: "unconfirmed", walk_in: true, checked_in_at: payload.scanned_at, pending: uuid, by_me: true,
  };
  state.rows.set(row.ticket, row);
  form.reset();
  show(box(), "warn", "未確認（当日参加）", `${label}：通信が戻ったときに登録します。`);
  renderCounts();
  await persist(row, item);
}

start();
