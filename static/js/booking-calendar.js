// Booking page: FullCalendar fed by the instrument's calendar JSON, selection fills the booking
// form, and the form asks the quote endpoint for the price and the rules a request would break.
// The calendar runs in the instrument's named timezone without a timezone plugin, so FullCalendar
// works "UTC-coerced": a Date's UTC fields hold the wall-clock time in that timezone.
(function () {
  "use strict";
  const el = document.getElementById("calendar");
  if (!el) return;
  const form = document.getElementById("booking-form");
  const phone = window.matchMedia("(max-width: 767.98px)").matches;
  const minMinutes = parseInt(el.dataset.min, 10);
  const slot = parseInt(el.dataset.slot, 10);
  const labels = JSON.parse(el.dataset.labels);
  const pad = (n) => String(n).padStart(2, "0");
  const wall = (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  const later = (d, minutes) => new Date(d.getTime() + minutes * 60000);
  let calendar = null;

  function fetchEvents(info, success, failure) {
    const url = `${el.dataset.events}?start=${encodeURIComponent(wall(info.start))}` +
      `&end=${encodeURIComponent(wall(info.end))}`;
    fetch(url, { headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(r.statusText))))
      .then(toEvents)
      .then((events) => success(calendar && calendar.view.type === "dayGridMonth"
        ? freeDays(events) : events.map(labelled)))
      .then(showRefusal)
      .catch(failure);
  }

  // A refused request comes back with why above the form, which a phone shows below the
  // calendar: scrolled to once the calendar has its events (they set its height).
  let refusalShown = false;
  function showRefusal() {
    const refused = document.getElementById("booking-problems");
    if (!refused || !phone || refusalShown) return;
    refusalShown = true;
    requestAnimationFrame(() => refused.scrollIntoView({ block: "center" }));
  }

  // The JSON is compact (free, blackout and busy times as [start, end] pairs, then your own
  // bookings): FullCalendar's event objects are made here.
  const SPANS = {
    free: { groupId: "free", display: "background", classNames: ["ev-free"] },
    blackout: { display: "background", classNames: ["ev-blackout"] },
    busy: { classNames: ["ev-busy"] },
  };
  function toEvents(body) {
    const spans = Object.entries(SPANS).flatMap(([kind, shape]) => body[kind].map(([start, end]) =>
      ({ start, end, ...shape, extendedProps: { kind } })));
    return spans.concat(body.own.map((b) => ({
      id: String(b.id), start: b.start, end: b.end, classNames: ["ev-own", `ev-${b.state}`],
      extendedProps: { kind: "own", state: b.state },
    })), (body.lab || []).map((b) => ({  // the instrument's lab: who booked, to open
      id: String(b.id), start: b.start, end: b.end, classNames: ["ev-busy", "ev-lab", `ev-${b.state}`],
      extendedProps: { kind: "lab", state: b.state, who: b.who },
    })));
  }

  // The JSON is language-neutral; titles come from the page. Free time and blackouts are
  // background colours in the grids but must be rows in the list view (phones): a row to tap,
  // and a row that says the instrument is unavailable.
  function labelled(ev) {
    const kind = ev.extendedProps.kind;
    if (kind === "own") return { ...ev, title: labels.states[ev.extendedProps.state] };
    if (kind === "lab") return { ...ev, title: `${ev.extendedProps.who} · ${labels.states[ev.extendedProps.state] || ""}` };
    if ((kind === "free" || kind === "blackout") && calendar && calendar.view.type.startsWith("list")) {
      // a blackout of whole days reads "all day" there, not "0:00"
      const wholeDays = kind === "blackout" && ev.start.endsWith("T00:00") && ev.end.endsWith("T00:00");
      return { ...ev, display: "auto", title: labels[kind], allDay: wholeDays };
    }
    return kind === "free" ? ev : { ...ev, title: labels[kind] };
  }

  // Minutes of each local day the events of `kind` cover (their times are wall clock,
  // UTC-coerced like the calendar's).
  function minutesByDay(events, kind) {
    const minutes = new Map();
    for (const ev of events.filter((e) => e.extendedProps.kind === kind)) {
      const to = new Date(`${ev.end}Z`);
      let from = new Date(`${ev.start}Z`);
      while (from < to) {
        const day = from.toISOString().slice(0, 10);
        const midnight = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate() + 1));
        const until = to < midnight ? to : midnight;
        minutes.set(day, (minutes.get(day) || 0) + (until - from) / 60000);
        from = until;
      }
    }
    return minutes;
  }

  // The month grid draws only whole-day backgrounds, so there each day with free time is
  // tinted and says how many hours are free ("7.5h" where the day is narrow: eventContent);
  // a day is opened to book them (dateClick). A day the lab blacked out with nothing left free
  // is hatched and says so: blank, it would look like a day the instrument is simply closed.
  function freeDays(events) {
    const free = minutesByDay(events, "free");
    const days = [...free].map(([day, minutes]) => {
      const hours = Math.round(minutes / 30) / 2;
      return {
        start: day, allDay: true, display: "background", classNames: ["ev-free", "ev-free-day"],
        title: labels.free_hours.replace("%(hours)s", hours),
        extendedProps: { kind: "free_day", short: `${hours}h` },
      };
    });
    const blackedOut = [...minutesByDay(events, "blackout").keys()].filter((day) => !free.has(day))
      .map((day) => ({
        start: day, allDay: true, display: "background", classNames: ["ev-blackout", "ev-blackout-day"],
        title: labels.blackout, extendedProps: { kind: "blackout_day" },
      }));
    // others' bookings are grey bars by their time alone: "Booked" beside it cut the time
    // short in a narrow day (the legend says what grey is)
    return events.filter((e) => !["free", "blackout"].includes(e.extendedProps.kind)).map(labelled)
      .map((e) => (e.extendedProps.kind === "busy" ? { ...e, title: "" } : e))
      .concat(days, blackedOut);
  }

  function eventContent(arg, h) {
    const { event, timeText, view } = arg;
    // both forms of a day's free hours, the CSS shows the one that fits (a container query)
    if (event.extendedProps.kind === "free_day") {
      return h("div", { className: "fc-event-title", title: event.title },
        h("span", { className: "free-long" }, event.title),
        h("span", { className: "free-short" }, event.extendedProps.short));
    }
    // a booking of one slot is one line high in the week and day grids: its times beside the
    // title cut the title off ("9:30–10:00 - 已"). The grid shows when it is; hovering says it.
    if (view.type.startsWith("timeGrid") && event.title && event.end
        && event.end - event.start <= slot * 60000) {
      return h("div", { className: "fc-event-title", title: `${timeText} ${event.title}` },
        event.title);
    }
    return true;  // FullCalendar's own
  }

  // what a booking's bar may cut short (the month grid's, a narrow week's), whole on hover
  function eventDidMount({ el: bar, event, timeText }) {
    if (event.title && !bar.title && event.display !== "background") bar.title = `${timeText} ${event.title}`;
  }

  // "Now" on the instrument's wall clock, whatever the browser's timezone: today's column,
  // the now-line and the day boundaries follow the instrument, like every time on the page.
  const clock = new Intl.DateTimeFormat("en-CA", {
    timeZone: el.dataset.timezone, hourCycle: "h23", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  function wallNow() {
    const p = Object.fromEntries(clock.formatToParts(new Date()).map((part) => [part.type, part.value]));
    return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
  }

  function fill(start, end) {
    if (!form) {  // not logged in: "tap to book" leads to the log-in button, not nowhere
      const login = document.getElementById("login-to-book");
      if (login) { login.scrollIntoView({ behavior: "smooth", block: "center" }); login.focus(); }
      return;
    }
    form.querySelector("#start").value = wall(start);
    form.querySelector("#end").value = wall(end);
    updateQuote();
    const purpose = form.querySelector("#purpose");
    if (phone) form.scrollIntoView({ behavior: "smooth" });
    purpose.focus({ preventScroll: !phone });
  }

  // FullCalendar's zh-cn locale has no hints, so every prev/next button's title fell back to
  // its text, "上月"/"下月", in the week and day views too
  const ZH_UNITS = { day: ["前一天", "后一天", "今天"], week: ["上一周", "下一周", "本周"],
    month: ["上个月", "下个月", "本月"] };
  const zhHint = (i) => (text, unit) => (ZH_UNITS[unit] || [`上一${text}`, `下一${text}`,
    `本${text}`])[i];
  const ZH_HINTS = { buttonHints: { prev: zhHint(0), next: zhHint(1), today: zhHint(2) },
    viewHint: "$0视图", navLinkHint: "前往$0", moreLinkHint: (n) => `另有 ${n} 项` };

  // FullCalendar's English buttons are lower case ("month", "today"), unlike every button of
  // the site
  const EN_BUTTONS = { buttonText: { today: "Today", month: "Month", week: "Week", day: "Day",
    list: "List" }, allDayText: "All day" };

  // a form shown again (refused, or a link to a slot) opens the calendar on its week
  const chosen = form && /^\d{4}-\d{2}-\d{2}T/.test(form.querySelector("#start").value)
    ? form.querySelector("#start").value : undefined;

  const eventShape = (viewType) =>
    viewType === "dayGridMonth" ? "month" : viewType.startsWith("list") ? "list" : "grid";
  let shownShape = eventShape(phone ? "listWeek" : "timeGridWeek");
  calendar = new FullCalendar.Calendar(el, {
    timeZone: el.dataset.timezone,
    initialDate: chosen,
    locale: el.dataset.locale === "zh_CN" ? "zh-cn" : "en",
    ...(el.dataset.locale === "zh_CN" ? ZH_HINTS : EN_BUTTONS),
    // "Thu 12/10" overflowed a week column at 1366 px; the title already names the month
    views: {
      timeGridWeek: { dayHeaderFormat: el.dataset.locale === "zh_CN"
        ? { month: "numeric", day: "numeric", weekday: "short" }
        : { weekday: "short", day: "numeric" } },
      // a phone's grid grows to its whole height: only the hours the instrument opens, not
      // eight empty hours to scroll past each time
      ...(phone && el.dataset.dayStart
        ? { timeGrid: { slotMinTime: el.dataset.dayStart, slotMaxTime: el.dataset.dayEnd } } : {}),
    },
    initialView: phone ? "listWeek" : "timeGridWeek",  // shownShape's first value
    headerToolbar: phone
      ? { left: "prev,next today", center: "title", right: "listWeek,timeGridDay" }
      : { left: "prev,next today", center: "title", right: "dayGridMonth,timeGridWeek,timeGridDay" },
    firstDay: 1,
    // bookings are coloured bars everywhere: the month grid's default dots took the link
    // colour on the grey; a day of the month is opened to book it
    eventDisplay: "block",
    // "9:00–12:30": without the spaces of " - " a booking's times fit a narrow week column
    defaultRangeSeparator: "–",
    // a 24-hour clock in both languages, as every page of the site (English read "3:00–4:00"
    // beside a "3pm" axis; the Chinese month mixed "10时" with "10:30")
    eventTimeFormat: { hour: "numeric", minute: "2-digit", hour12: false },
    slotLabelFormat: { hour: "numeric", minute: "2-digit", hour12: false },
    eventContent,
    eventDidMount,
    dayMaxEvents: 4,
    allDaySlot: false,
    nowIndicator: true,
    now: wallNow,
    height: phone ? "auto" : 680,
    scrollTime: "08:00:00",
    slotDuration: { minutes: slot },
    snapDuration: { minutes: slot },
    selectable: !!form,
    selectMirror: true,
    selectConstraint: "free",
    unselectAuto: false,
    events: fetchEvents,
    viewDidMount: (arg) => {
      // the events' shape depends on the view (free days in the month, rows in a list): fetched
      // again when that changes; FullCalendar fetches a new range by itself, the first one too
      const shape = eventShape(arg.view.type);
      if (!calendar || shape === shownShape) return;
      shownShape = shape;
      // a month of six weeks is shown whole, not cut off inside the week's fixed height
      calendar.setOption("height", phone || arg.view.type === "dayGridMonth" ? "auto" : 680);
      calendar.refetchEvents();
    },
    select: (info) => fill(info.start, info.end),
    dateClick: (info) => {
      if (info.allDay) calendar.changeView("timeGridDay", info.date);
      else if (info.jsEvent && info.jsEvent.target.closest(".ev-free")) fill(info.date, later(info.date, minMinutes));
    },
    eventClick: (info) => {
      const kind = info.event.extendedProps.kind;
      if (kind === "free") {
        info.jsEvent.preventDefault();
        fill(info.event.start, later(info.event.start, minMinutes));
      } else if ((kind === "own" || kind === "lab") && info.event.id) {  // its page
        window.location.assign(el.dataset.booking + encodeURIComponent(info.event.id));
      }
    },
  });
  calendar.render();

  if (!form) return;
  const fields = ["#start", "#end"].map((s) => form.querySelector(s));
  const samples = form.querySelector("#samples");  // staff-operated (送样) only
  const project = form.querySelector("#project");  // the project account charged, if any
  const show = (id, on) => document.getElementById(id).classList.toggle("d-none", !on);
  const currentMode = () =>
    (form.querySelector("input[name=mode]:checked") || {}).value || "self_operated";

  // The number of samples belongs to the staff-operated mode: shown only when it is chosen.
  function toggleSamples() {
    if (!samples) return;
    const staff = currentMode() === "staff_operated";
    form.querySelectorAll(".samples-field").forEach((el) => el.classList.toggle("d-none", !staff));
  }

  let quoted = "";
  function updateQuote() {
    const [start, end] = fields.map((f) => f.value);
    const mode = currentMode();
    if (!start || !end) return;
    const params = new URLSearchParams({ start, end, mode });
    if (mode === "staff_operated" && samples) params.set("samples", samples.value || "0");
    if (project && project.value !== "0") params.set("project", project.value);
    if (params.toString() === quoted) return;  // asked already (pageshow below)
    quoted = params.toString();
    fetch(`${form.dataset.quote}?${params}`, { headers: { Accept: "application/json" } })
      .then((r) => r.json())
      .then(renderQuote)
      .catch(() => {});
  }

  function renderQuote(q) {
    const hasFee = q.fee !== undefined;
    show("quote-empty", !hasFee && !q.error);
    show("quote-body", hasFee);
    if (hasFee) {
      document.getElementById("quote-class").textContent = q.customer_class_label || q.customer_class;
      document.getElementById("quote-minutes").textContent = q.billable_minutes;
      document.getElementById("quote-time-fee").textContent = q.time_fee;
      document.getElementById("quote-fee").textContent = q.fee;
      document.getElementById("quote-samples").textContent = `${q.samples} × ${q.per_sample_fee} = ${q.samples_fee}`;
      document.querySelectorAll(".quote-samples").forEach((el) => el.classList.toggle("d-none", !q.samples_fee_fen));
      document.getElementById("quote-payable").textContent = q.payable;
      document.getElementById("quote-voucher").textContent = `−${q.voucher} (${q.voucher_percent}%)`;
      document.querySelectorAll(".quote-voucher").forEach((el) => el.classList.toggle("d-none", !q.voucher_fen));
      const hasProject = q.project_remaining !== undefined;
      if (hasProject) {
        document.getElementById("quote-project-remaining").textContent = q.project_remaining;
        const after = document.getElementById("quote-project-after");
        after.textContent = q.project_after;
        after.classList.toggle("text-danger", q.project_after_fen < 0);
      }
      document.querySelectorAll(".quote-project").forEach((el) => el.classList.toggle("d-none", !hasProject));
      const payer = document.getElementById("quote-payable-label");  // who pays: the booker or the project
      payer.textContent = hasProject ? payer.dataset.project : payer.dataset.you;
    }
    const problems = (q.problems || []).map((p) => p.message).concat(q.error ? [q.error] : []);
    fillList("quote-problems", problems);
    // a taken time: the user may wait for it instead
    show("waitlist-join", (q.problems || []).some((p) => ["booking_clash", "held_for_waitlist"].includes(p.code)));
    fillList("quote-warnings", (q.warnings || []).map((w) => w.message));
  }

  function fillList(id, texts) {
    document.getElementById(id).replaceChildren(...texts.map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }));
    show(id, texts.length > 0);
  }

  fields.forEach((f) => f.addEventListener("change", updateQuote));
  // a start typed in the form shows its week (or day) in the calendar
  fields[0].addEventListener("change", () => {
    if (/^\d{4}-\d{2}-\d{2}T/.test(fields[0].value)) calendar.gotoDate(fields[0].value);
  });
  form.querySelectorAll("input[name=mode]").forEach((r) => r.addEventListener("change", () => {
    toggleSamples();
    updateQuote();
  }));
  if (samples) samples.addEventListener("change", updateQuote);
  if (project) project.addEventListener("change", updateQuote);
  toggleSamples();
  updateQuote();
  // Back to this page after sending it: the browser puts the typed times back after the
  // script ran, so the quote is asked for again once the page is shown
  window.addEventListener("pageshow", updateQuote);
})();
