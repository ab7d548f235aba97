// Progressive enhancement only: every page works without JavaScript.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // After a failed submit, move focus to the error summary so screen readers announce it
  // and keyboard users start from the list of what to fix.
  const summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }
  // 「印刷する」 on the printable pages (案内シート).
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });
});
