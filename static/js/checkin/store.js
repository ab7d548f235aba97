// What the tablet keeps (IndexedDB, through the vendored idb wrapper): its token, today's
// sessions, the roster of each (names, フリガナ, tickets, status, times: nothing else) and the
// queue of check-ins not yet sent. `wipe` removes all of it.
"use strict";

import { deleteDB, openDB } from "/static/vendor/idb/index.js";

const NAME = "hikisupport-checkin";
let opened = null;

function db() {
  if (!opened) {
    opened = openDB(NAME, 1, {
      upgrade(database) {
        database.createObjectStore("meta");
        database.createObjectStore("sessions", { keyPath: "id" });
        const roster = database.createObjectStore("roster", { keyPath: "key" });
        roster.createIndex("session", "session_id");
        database.createObjectStore("queue", { keyPath: "id" });
      },
    });
  }
  return opened;
}

export async function getMeta(key) {
  return (await db()).get("meta", key);
}

export async function setMeta(key, value) {
  return (await db()).put("meta", value, key);
}

export async function sessions() {
  return (await db()).getAll("sessions");
}

export async function putSessions(list) {
  const tx = (await db()).transaction("sessions", "readwrite");
  await tx.store.clear();
  await Promise.all(list.map((s) => tx.store.put(s)));
  await tx.done;
}

export function rowKey(sessionId, ticket) {
  return `${sessionId}:${ticket}`;
}

export async function roster(sessionId) {
  return (await db()).getAllFromIndex("roster", "session", sessionId);
}

export async function putRow(row) {
  return (await db()).put("roster", row);
}

export async function deleteRow(key) {
  return (await db()).delete("roster", key);
}

/** Replace a session's roster with the server's, keeping rows with changes not yet sent. */
export async function replaceRoster(sessionId, rows, keep) {
  const tx = (await db()).transaction("roster", "readwrite");
  const old = await tx.store.index("session").getAll(sessionId);
  await Promise.all(old.filter((r) => !keep(r)).map((r) => tx.store.delete(r.key)));
  await Promise.all(rows.map((r) => tx.store.put(r)));
  await tx.done;
}

export async function enqueue(item) {
  return (await db()).put("queue", item);
}

export async function queued() {
  return (await db()).getAll("queue");
}

export async function dequeue(id) {
  return (await db()).delete("queue", id);
}

/** A new day: yesterday's rosters and sessions go; the queue stays until it is sent. */
export async function forgetOtherDays(day) {
  const database = await db();
  if ((await database.get("meta", "day")) === day) {
    return false;
  }
  await database.clear("roster");
  await database.clear("sessions");
  await database.put("meta", day, "day");
  return true;
}

/** Everything this tablet kept, gone (revoked, or paired anew). */
export async function wipe() {
  if (opened) {
    (await opened).close();
    opened = null;
  }
  await deleteDB(NAME);
}
