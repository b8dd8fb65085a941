// Copera Relay console: progressive enhancements only; every page works without this file.
"use strict";

function copyFrom(button) {
  const field = document.getElementById(button.dataset.copy);
  const done = () => {
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy URL"; }, 2000);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, () => fallbackCopy(field, done));
  } else {
    fallbackCopy(field, done);
  }
}

// Plain-http consoles (not a secure context) have no clipboard API: select the text and copy it.
function fallbackCopy(field, done) {
  field.focus();
  field.select();
  if (document.execCommand("copy")) {
    done();
  }
}

// The event suggestions follow the chosen source (its event names come in a JSON block on the page).
function followSource(select) {
  const data = document.getElementById("source-events");
  const list = document.getElementById("event-names");
  if (!data || !list) {
    return;
  }
  const events = JSON.parse(data.textContent)[select.value] || [];
  list.replaceChildren(...events.map((name) => {
    const option = document.createElement("option");
    option.value = name;
    return option;
  }));
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("button.copy[data-copy]").forEach((button) => {
    button.addEventListener("click", () => copyFrom(button));
  });
  const source = document.getElementById("source");
  if (source && document.getElementById("source-events")) {
    source.addEventListener("change", () => followSource(source));
  }
});
