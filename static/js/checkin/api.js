// The check-in API with the device token: never the browser's cookies (a staff session on the
// same tablet must not stand in for the device), never a cached answer.
"use strict";

export class Unauthorized extends Error {}
export class Offline extends Error {}

const TIMEOUT_MS = 10000;

export async function call(token, method, path, body) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      credentials: "omit",
      cache: "no-store",
      headers: {
        Authorization: `Bearer ${token}`,
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
    });
  } catch (error) {
    throw new Offline(String(error));
  } finally {
    clearTimeout(timer);
  }
  if (response.status === 401) {
    throw new Unauthorized();
  }
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    if (response.status >= 500) {
      throw new Offline(`HTTP ${response.status}`);
    }
  }
  if (response.status >= 500) {
    throw new Offline(`HTTP ${response.status}`);
  }
  return { status: response.status, body: data || {} };
}
