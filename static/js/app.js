// Behaviour that pages ask for with data attributes; no inline handlers (the CSP forbids them).
document.addEventListener("submit", (event) => {
  const message = event.target.dataset?.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
document.addEventListener("change", (event) => {
  if (event.target.matches("[data-autosubmit]")) event.target.form.submit();
});
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
document.addEventListener("click", (event) => {
  // data-copy="#id": copy that element's text (a long address cut short on a phone)
  const button = event.target.closest("[data-copy]");
  const source = button && document.querySelector(button.dataset.copy);
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.textContent.trim()).then(() => {
      button.classList.replace("btn-outline-secondary", "btn-success");
    });
  }
});

// <input list="…" data-suggest="URL">: a picker whose datalist fills, as one types, with the
// labels URL?q=… answers ([{label}]); a label ends with "#id", which the server reads back.
const suggestTimers = new WeakMap();
document.addEventListener("input", (event) => {
  const input = event.target;
  if (!input.matches?.("input[data-suggest]")) return;
  clearTimeout(suggestTimers.get(input));
  suggestTimers.set(input, setTimeout(async () => {
    const typed = input.value.trim();
    if (!typed || /#\d+$/.test(typed)) return;
    const response = await fetch(`${input.dataset.suggest}?q=${encodeURIComponent(typed)}`,
                                 { headers: { Accept: "application/json" } });
    if (!response.ok || input.value.trim() !== typed) return;
    const options = (await response.json()).map(({ label }) => new Option(label, label));
    document.getElementById(input.getAttribute("list")).replaceChildren(...options);
  }, 200));
});

// data-shown-with="#select=value": shown only while that select has that value (the fields
// a choice makes irrelevant step aside; they are still sent, and the server ignores them)
function showDependents() {
  document.querySelectorAll("[data-shown-with]").forEach((element) => {
    const [selector, value] = element.dataset.shownWith.split("=");
    const control = document.querySelector(selector);
    if (control) element.hidden = control.value !== value;
  });
}
document.addEventListener("change", showDependents);
showDependents();

// A page opened at an anchor (the lab's day after an action on one row) is scrolled past the
// messages at its top: they float at the bottom of the screen then, until closed. Their place
// keeps its height, so the row the anchor names does not move.
const flashStack = document.getElementById("flash-stack");
if (flashStack && window.location.hash && "IntersectionObserver" in window) {
  const watcher = new IntersectionObserver(([entry]) => {
    if (entry.isIntersecting || entry.boundingClientRect.bottom > 0) return;
    flashStack.style.minHeight = `${flashStack.offsetHeight}px`;
    flashStack.firstElementChild.classList.add("flash-floating");
    watcher.disconnect();
  });
  watcher.observe(flashStack);
}
// A page of money that may have changed since it was shown (data-fresh-on-back on an element
// of it): going back to it shows it again from the server, not the browser's stored copy
// (after a card payment, the list went on saying "unpaid").
window.addEventListener("pageshow", (event) => {
  if (event.persisted && document.querySelector("[data-fresh-on-back]")) window.location.reload();
});
