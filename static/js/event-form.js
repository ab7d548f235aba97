// The staff event form: 「回を追加する」 adds a row in place, without a reload, as progressive
// enhancement. Without JavaScript the button submits the form and the server answers with one
// more row (and the browser returns to it through the #session-N in the button's URL).
"use strict";

(() => {
  const ROW_PREFIX = /^sessions-(\d+)-/;

  // sessions-3-venue → sessions-4-venue, in every attribute that names a row's field.
  function renumber(element, index) {
    for (const name of ["id", "name", "for", "aria-describedby"]) {
      const value = element.getAttribute(name);
      if (value) {
        element.setAttribute(
          name,
          value
            .split(" ")
            .map((part) => part.replace(ROW_PREFIX, `sessions-${index}-`))
            .join(" "),
        );
      }
    }
  }

  function forgetErrors(row) {
    for (const message of row.querySelectorAll(".field__error")) {
      message.remove();
    }
    for (const field of row.querySelectorAll(".field--error")) {
      field.classList.remove("field--error");
    }
    for (const input of row.querySelectorAll("[aria-invalid]")) {
      input.removeAttribute("aria-invalid");
    }
    for (const input of row.querySelectorAll("[aria-describedby]")) {
      const kept = input
        .getAttribute("aria-describedby")
        .split(" ")
        .filter((id) => !id.endsWith("-error"));
      if (kept.length) {
        input.setAttribute("aria-describedby", kept.join(" "));
      } else {
        input.removeAttribute("aria-describedby");
      }
    }
  }

  function addRow(container, status) {
    const rows = container.querySelectorAll("[data-session-row]");
    const last = rows[rows.length - 1];
    const index = rows.length; // the new row's number in the form (0-based)
    const row = last.cloneNode(true);
    row.id = `session-${index + 1}`;
    row.querySelector("legend").textContent =
      `第${index + 1}回（日時が空欄なら追加しません・削除されます）`;
    forgetErrors(row);
    for (const element of row.querySelectorAll("[id], [name], [for], [aria-describedby]")) {
      renumber(element, index);
    }
    // A new 回: no id, no dates; venue and access stay as the previous row had them.
    for (const input of row.querySelectorAll("input")) {
      if (input.type === "hidden" || input.type === "datetime-local") {
        input.value = "";
      }
    }
    last.after(row);
    const first = row.querySelector("input[type=datetime-local]");
    if (first) {
      first.focus();
    }
    if (status) {
      status.textContent = `第${index + 1}回の入力欄を追加しました。`;
    }
    return rows.length + 1;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const container = document.querySelector("[data-sessions]");
    const button = document.querySelector("[data-add-session]");
    if (!container || !button) {
      return;
    }
    const max = Number(container.dataset.maxSessions || "20");
    const status = document.querySelector("[data-session-status]");
    button.addEventListener("click", (event) => {
      if (container.querySelectorAll("[data-session-row]").length >= max) {
        return; // the server says why no more can be added
      }
      event.preventDefault();
      const count = addRow(container, status);
      button.setAttribute("formaction", `${window.location.pathname}#session-${count + 1}`);
    });
  });
})();
