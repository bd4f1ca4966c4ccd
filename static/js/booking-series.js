// Booking page, recurring series: shows the repeat fields that apply, previews every
// occurrence (price, broken rules, taken slots) from the series endpoint, and lets the user
// book the free ones (the form posts to the series view) or none. A stale preview is hidden:
// the user books only what they saw.
(function () {
  "use strict";
  const box = document.getElementById("repeat-box");
  const form = document.getElementById("booking-form");
  if (!box || !form) return;
  const $ = (id) => document.getElementById(id);
  const show = (el, on) => el.classList.toggle("d-none", !on);
  const freq = $("repeat-freq");
  const single = $("book-submit");
  const preview = $("series-preview");
  const CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

  function startWeekday() {
    const value = form.querySelector("#start").value;  // wall clock: YYYY-MM-DDTHH:MM
    if (!value) return null;
    const day = new Date(`${value.slice(0, 10)}T00:00:00Z`).getUTCDay();  // 0 = Sunday
    return CODES[(day + 6) % 7];
  }

  // A weekly series starts on one of its weekdays: the start's day is always ticked.
  function tickStartDay() {
    const code = startWeekday();
    if (freq.value === "weekly" && code) $(`repeat-byweekday-${code}`).checked = true;
  }

  function layout() {
    const repeating = freq.value !== "";
    show($("repeat-detail"), repeating);
    show($("repeat-weekly"), freq.value === "weekly");
    const until = (form.querySelector("input[name='repeat-ends']:checked") || {}).value === "until";
    show($("repeat-count-box"), !until);
    show($("repeat-until-box"), until);
    if (single) show(single, !repeating);
    tickStartDay();
  }

  function stale() {
    show(preview, false);
    show($("series-none-note"), false);
  }

  function fillList(list, texts) {
    list.replaceChildren(...texts.map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }));
    show(list, texts.length > 0);
  }

  function span(text, className) {
    const el = document.createElement("span");
    el.textContent = text;
    el.className = className;
    return el;
  }

  // One occurrence: when and what it costs; free, or the reasons it cannot be booked.
  function item(o) {
    const free = o.problems.length === 0;
    const li = document.createElement("li");
    li.className = `list-group-item px-2 py-1 ${free ? "series-free" : "series-refused list-group-item-danger"}`;
    const line = document.createElement("div");
    line.className = "d-flex flex-wrap justify-content-between column-gap-2";
    const price = span(o.payable || "–", `series-price text-nowrap${free ? "" : " text-decoration-line-through"}`);
    line.append(span(`${o.day} ${o.weekday} ${o.time}`, "series-when text-nowrap"),
      free ? span(box.dataset.free, "badge text-bg-success ms-auto align-self-center") : "", price);
    li.append(line);
    if (!free) li.append(span(o.problems.map((p) => p.message).join(" "), "series-why d-block"));
    return li;
  }

  function render(body) {
    show($("series-none-note"), false);
    fillList($("series-problems"), (body.problems || []).map((p) => p.message)
      .concat(body.error ? [body.error] : []));
    $("series-occurrences").replaceChildren(...(body.occurrences || []).map(item));
    $("series-summary").textContent = body.total ? box.dataset.summary
      .replace("{free}", body.free).replace("{total}", body.total)
      .replace("{payable}", body.payable) : "";
    // a refusal of the whole series (the PI approves this project's requests, its budget, an
    // overdue invoice) leaves nothing to book, whatever the dates
    $("series-book").disabled = !body.free || (body.problems || []).length > 0;
    show(preview, true);
  }

  // What the preview was asked about: the calendar fills the times without a change event,
  // so booking checks that the form still asks for what the preview showed.
  let shown = null;
  function query() {
    tickStartDay();
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (value !== "" && name !== "csrf_token" && name !== "purpose") params.append(name, value);
    }
    return params.toString();
  }

  function load() {
    const asked = query();
    fetch(`${box.dataset.preview}?${asked}`, { headers: { Accept: "application/json" } })
      .then((r) => r.json())
      .then((body) => { shown = asked; render(body); })
      .catch(() => {});
  }

  freq.addEventListener("change", () => { layout(); stale(); });
  form.querySelectorAll("input[name='repeat-ends']").forEach((r) => r.addEventListener("change", layout));
  form.addEventListener("change", (e) => {
    if (e.target.id === "start") tickStartDay();
    if (e.target.id !== "purpose") stale();
  });
  $("series-preview-button").addEventListener("click", load);
  // Enter in a field submits with the form's first submit button, "Book the free ones": a
  // single booking goes to its own button, and a series is booked only as last previewed.
  form.addEventListener("submit", (e) => {
    const repeating = freq.value !== "";
    if (e.submitter === $("series-book") && !repeating && single) {
      e.preventDefault();
      setTimeout(() => form.requestSubmit(single));  // not from inside this submit event
    } else if ((e.submitter === $("series-book") && query() !== shown) ||
               (e.submitter === single && repeating)) {
      e.preventDefault();
      load();
    }
  });
  $("series-none").addEventListener("click", () => {
    stale();
    const note = $("series-none-note");
    note.textContent = box.dataset.nothing;
    show(note, true);
  });
  layout();
})();
