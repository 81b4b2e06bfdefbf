// clinic-env's page: play a consultation, browse runs. Plain DOM, no build step.
// Every text from the server goes into the page as a text node (never as markup), so a
// transcript or a case that holds HTML shows it as text.
"use strict";

const main = document.getElementById("main");
const errorBox = document.getElementById("error");
const PAGE_SIZE = 50;
let playOptions = null;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
  return node;
}

function fail(error) {
  errorBox.textContent = String((error && error.message) || error);
  errorBox.hidden = false;
}

function errorText(data, response) {
  if (data.error) return data.error;
  if (Array.isArray(data.detail)) {
    return data.detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
  }
  return `${response.status} ${response.statusText}`;
}

async function api(path, body) {
  errorBox.hidden = true;
  const init = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(errorText(data, response));
  return data;
}

function query(params) {
  return new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null));
}

function money(value) {
  return `$${Number(value).toLocaleString(undefined, { maximumFractionDigits: 0 })}`;
}

function number(value) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(3).replace(/\.?0+$/, "");
}

function select(id, values, chosen, labels = {}) {
  const node = el("select", { id, name: id });
  for (const value of values) {
    node.append(el("option", { value, selected: value === chosen }, labels[value] ?? value));
  }
  return node;
}

function field(label, control) {
  return el("label", { className: "field" }, el("span", {}, label), control);
}

function table(id, headers, rows) {
  return el("table", { id },
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows));
}

// ------------------------------------------------------------------------------ play

async function playSetup() {
  playOptions = playOptions || await api("/api/options");
  const o = playOptions;
  const role = select("role", ["doctor", "patient"], "doctor",
    { doctor: "I am the doctor", patient: "I am the patient" });
  const dataset = select("dataset", o.datasets, o.datasets.includes("starter") ? "starter" : o.datasets[0]);
  const caseSelect = select("case", [""], "", { "": "random case" });
  const persona = select("persona", o.personas.map((p) => p.id), "plain",
    Object.fromEntries(o.personas.map((p) => [p.id, `${p.name}: ${p.summary}`])));
  const biases = el("select", { id: "biases", multiple: true, size: 5 },
    o.biases.map((b) => el("option", { value: b.id, title: b.summary }, `${b.id} (${b.kind})`)));
  const doctorField = field("Doctor", select("doctor-agent", o.choices.doctor, o.choices.doctor[0]));
  const patientField = field("Patient", select("patient-agent", o.choices.patient, o.choices.patient[0]));
  const loadCases = async () => {
    const cases = await api(`/api/cases?${query({ dataset: dataset.value })}`);
    fill(caseSelect, el("option", { value: "" }, "random case"),
      cases.map((c) => el("option", { value: c.id }, c.id)));
  };
  const showRoles = () => {
    doctorField.hidden = role.value !== "patient";
    patientField.hidden = role.value !== "doctor";
  };
  role.addEventListener("change", showRoles);
  dataset.addEventListener("change", () => loadCases().catch(fail));
  const form = el("form", { id: "setup", className: "card" },
    el("h1", {}, "Play a consultation"),
    el("div", { className: "grid" },
      field("Your role", role), field("Dataset", dataset), field("Case", caseSelect),
      field("Persona", persona), field("Biases (ctrl-click for several)", biases),
      patientField, doctorField,
      field("Measurement", select("measurement-agent", o.choices.measurement, o.choices.measurement[0])),
      field("Seed (empty: random)", el("input", { id: "seed", type: "number", min: 0 })),
      field("Turn limit", el("input", { id: "max-turns", type: "number", min: 1, max: 100, value: 20 }))),
    el("button", { id: "start", type: "submit" }, "Start consultation"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const seed = document.getElementById("seed").value;
    startPlay({
      role: role.value,
      dataset: dataset.value,
      case_id: caseSelect.value || null,
      persona: persona.value,
      biases: [...biases.selectedOptions].map((option) => option.value),
      patient: document.getElementById("patient-agent").value,
      doctor: document.getElementById("doctor-agent").value,
      measurement: document.getElementById("measurement-agent").value,
      seed: seed === "" ? null : Number(seed),
      max_turns: Number(document.getElementById("max-turns").value),
    }).catch(fail);
  });
  showRoles();
  fill(main, form);
  await loadCases();
}

async function startPlay(request) {
  document.getElementById("start").disabled = true;
  try {
    const play = await api("/api/play", request);
    if (play.role === "doctor") doctorGame(play);
    else patientGame(play);
  } finally {
    const start = document.getElementById("start");
    if (start) start.disabled = false;
  }
}

// Give up a consultation (the server drops it, unsaved unless it had ended) and start anew.
function abandonButton(play, onAbandon = () => {}) {
  return el("button", { id: "abandon", type: "button", onclick: () => {
    onAbandon();
    api(`/api/play/${play.id}/abandon`, {}).then(() => playSetup()).catch(fail);
  } }, "Abandon this consultation");
}

function chatMessage(who, text, meta) {
  return el("div", { className: `msg ${who}` },
    el("div", { className: "who" }, who), el("div", { className: "text" }, text),
    meta ? el("div", { className: "meta" }, meta) : null);
}

function doctorGame(play) {
  const chat = el("div", { id: "chat", className: "chat" }, chatMessage("system", play.opening));
  const status = el("p", { id: "status", className: "status" });
  const images = el("div", { id: "images", className: "images" });
  const result = el("section", { id: "result", className: "card", hidden: true });
  const message = el("textarea", { id: "message", rows: 2, placeholder: "Ask the patient a question" });
  const controls = [];
  let totalCost = 0;
  const setStatus = (turnsLeft) => {
    status.textContent = `Patient: ${play.patient} · persona ${play.persona} · ` +
      `turns left ${turnsLeft} of ${play.max_turns} · tests so far ${money(totalCost)}`;
  };
  const showImages = (list) => {
    if (!list.length) return;
    fill(images, list.map((image) => el("figure", {},
      el("img", { src: image.src, alt: image.kind }), el("figcaption", {}, image.kind))));
  };
  const send = async (text) => {
    if (!text.trim()) return;
    controls.forEach((c) => { c.disabled = true; });
    chat.append(chatMessage("doctor", text));
    const pending = el("div", { className: "msg pending", id: "pending" }, "waiting for an answer…");
    chat.append(pending);
    try {
      const reply = await api(`/api/play/${play.id}/message`, { text });
      const turn = reply.turn;
      const meta = turn.action === "order_test" && turn.cost_usd >= 0
        ? `cost ${money(turn.cost_usd)} · result after ${turn.turnaround_hours} h` : null;
      chat.append(chatMessage(turn.error ? "system" : turn.responder, turn.observation || turn.error, meta));
      totalCost = reply.total_cost_usd;
      setStatus(reply.turns_left);
      showImages(reply.images);
      if (reply.done) showResult(result, reply.result);
    } finally {
      pending.remove();
      chat.scrollTop = chat.scrollHeight;
      const over = !result.hidden;
      controls.forEach((c) => { c.disabled = over; });
    }
  };
  const ask = el("form", { id: "ask" }, message, el("button", { id: "send", type: "submit" }, "Send"));
  ask.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = message.value;
    message.value = "";
    send(text).catch(fail);
  });
  const exams = el("div", { className: "buttons" }, playOptions.exams.map((system) =>
    el("button", { type: "button", className: "exam", "data-system": system,
      onclick: () => send(`REQUEST EXAM: ${system}`).catch(fail) }, system)));
  const testList = el("datalist", { id: "test-list" }, playOptions.tests.map((t) =>
    el("option", { value: t.name, label: `${t.kind}, ${money(t.cost_usd)}, ${t.hours} h` })));
  const testName = el("input", { id: "test-name", list: "test-list", placeholder: "e.g. Complete blood count" });
  const order = el("form", { id: "order" }, testName, testList, el("button", { id: "order-test", type: "submit" }, "Order test"));
  order.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = testName.value;
    testName.value = "";
    if (name.trim()) send(`REQUEST TEST: ${name}`).catch(fail);
  });
  const differential = el("textarea", { id: "differential", rows: 3, placeholder: "Most likely first, one per line" });
  const diagnose = el("form", { id: "diagnose" }, differential, el("button", { id: "submit-diagnosis", type: "submit" }, "Submit diagnosis"));
  diagnose.addEventListener("submit", (event) => {
    event.preventDefault();
    const lines = differential.value.split("\n").map((l) => l.trim()).filter(Boolean);
    if (lines.length) send(`DIAGNOSIS READY:\n${lines.map((l, i) => `${i + 1}. ${l}`).join("\n")}`).catch(fail);
  });
  const end = el("button", { id: "end", type: "button", onclick: () => send("END").catch(fail) }, "End without a diagnosis");
  const imageButton = play.has_images
    ? el("button", { id: "request-images", type: "button", onclick: () => send("REQUEST IMAGES").catch(fail) }, "Request images")
    : null;
  controls.push(message, ask.querySelector("button"), ...exams.children, testName,
    order.querySelector("button"), differential, diagnose.querySelector("button"), end);
  if (imageButton) controls.push(imageButton);
  setStatus(play.turns_left);
  showImages(play.images);
  fill(main, el("section", { className: "play" },
    el("div", { className: "conversation" }, status, chat, ask),
    el("aside", { className: "tools card" },
      el("h2", {}, "Examine"), exams,
      el("h2", {}, "Order a test"), order, imageButton, images,
      el("h2", {}, "Diagnosis"), diagnose, end, abandonButton(play))),
    result);
  message.focus();
}

function patientGame(play) {
  const chat = el("div", { id: "chat", className: "chat" });
  const waiting = el("p", { id: "waiting", className: "status" });
  const result = el("section", { id: "result", className: "card", hidden: true });
  const reply = el("textarea", { id: "reply", rows: 2, placeholder: "Answer as the patient" });
  const button = el("button", { id: "send-reply", type: "submit" }, "Answer");
  let pending = null;
  let abandoned = false;
  const render = (state) => {
    if (abandoned) return;
    if (pending) pending.remove();
    pending = null;
    for (const turn of state.turns) {
      chat.append(chatMessage("doctor", turn.doctor_message),
        chatMessage(turn.responder, turn.observation));
    }
    if (state.question) {
      pending = chatMessage("doctor", state.question);
      chat.append(pending);
    }
    waiting.textContent = state.waiting_for === "doctor" ? "The doctor is thinking…"
      : state.waiting_for === "you" ? `Your answer (turns left ${state.turns_left})` : "";
    const over = state.done;
    reply.disabled = over || state.waiting_for !== "you";
    button.disabled = reply.disabled;
    chat.scrollTop = chat.scrollHeight;
    if (over) showResult(result, state.result, "The doctor's");
    else if (state.waiting_for === "doctor") poll(0);
  };
  const poll = (failures) => {
    api(`/api/play/${play.id}/next`).then(render).catch((error) => {
      if (abandoned) return;
      fail(error);
      if (failures < 5) setTimeout(() => poll(failures + 1), 2000);
    });
  };
  const form = el("form", { id: "answer" }, reply, button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = reply.value;
    if (!text.trim()) return;
    reply.value = "";
    reply.disabled = true;
    button.disabled = true;
    api(`/api/play/${play.id}/message`, { text }).then(render).catch((error) => {
      fail(error);
      reply.value = text;
      reply.disabled = false;
      button.disabled = false;
    });
  });
  fill(main, el("section", { className: "play" },
    el("div", { className: "conversation" }, waiting, chat, form),
    el("aside", { className: "tools card" }, el("h2", {}, "Your notes"), el("pre", { id: "notes" }, play.notes),
      abandonButton(play, () => { abandoned = true; }))),
    result);
  render(play);
}

function scoreRows(components) {
  return components.map((c) => el("tr", {}, el("td", {}, c.name),
    el("td", { className: "num" }, c.value === null ? `failed: ${c.error}` : number(c.value))));
}

function showResult(section, result, listOwner = "Your") {
  const rewards = Object.entries(result.reward_components).map(([name, value]) =>
    el("tr", {}, el("td", {}, name), el("td", { className: "num" }, number(value))));
  fill(section, 
    el("h2", {}, "Result"),
    el("p", { id: "outcome" }, `Outcome: ${result.outcome}`, result.error ? ` (${result.error})` : ""),
    el("p", {}, "The diagnosis was ", el("strong", { id: "truth" }, result.diagnosis),
      `. ${listOwner} list: `, result.differential.length ? result.differential.join("; ") : "none", "."),
    el("ul", { id: "feedback" }, result.feedback.map((line) => el("li", {}, line))),
    el("div", { className: "columns" },
      el("div", {}, el("h3", {}, "Scores"), table("scores", ["score", "value"], scoreRows(result.scores))),
      el("div", {}, el("h3", {}, `Reward ${number(result.reward)}`), table("rewards", ["part", "episode total"], rewards))),
    el("div", { className: "columns" },
      el("div", {}, el("h3", {}, "History you drew out"), el("ul", { id: "elicited" }, result.elicited.map((f) => el("li", {}, f)))),
      el("div", {}, el("h3", {}, "History you missed"), el("ul", { id: "missed" }, result.missed.map((f) => el("li", {}, f))))),
    el("p", { className: "meta" }, result.saved_to ? `Transcript saved to ${result.saved_to}. `
      : `The transcript could not be saved yet (${result.save_error}). `, el("a", { href: "#/play", id: "again",
      onclick: (event) => { event.preventDefault(); playSetup().catch(fail); } }, "Play again")));
  section.hidden = false;
  section.scrollIntoView();
}

// ------------------------------------------------------------------------------ browse

async function runList() {
  const runs = await api("/api/runs");
  const rows = runs.map((run) => el("tr", {},
    el("td", {}, el("a", { href: `#/run?${query({ name: run.name })}` }, run.name)),
    el("td", {}, run.kind), el("td", {}, run.experiment), el("td", {}, run.created),
    el("td", { className: "num" }, run.bytes < 1e6 ? `${(run.bytes / 1e3).toFixed(1)} kB` : `${(run.bytes / 1e6).toFixed(1)} MB`)));
  fill(main, el("h1", {}, "Runs"),
    runs.length ? table("runs", ["run", "kind", "experiment", "created", "size"], rows)
      : el("p", {}, "No runs yet: `clinic-env eval` writes one, and every consultation played here is saved as one."));
}

const FILTERS = ["dataset", "persona", "bias", "doctor", "outcome", "validity", "result"];

async function runView(params) {
  const name = params.get("name");
  const offset = Number(params.get("offset") || 0);
  const filters = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) || ""]));
  const [facets, page, report] = await Promise.all([
    api(`/api/runs/facets?${query({ run: name, ...filters })}`),
    api(`/api/runs/rows?${query({ run: name, offset, limit: PAGE_SIZE, ...filters })}`),
    api(`/api/runs/report?${query({ run: name })}`),
  ]);
  const go = (changes) => { location.hash = `#/run?${query({ name, ...filters, offset, ...changes })}`; };
  const filterBar = el("div", { id: "filters", className: "grid" }, FILTERS.map((f) => {
    const counts = { ...(facets.facets[f] || {}) };
    if (filters[f] && !(filters[f] in counts)) counts[filters[f]] = 0;  // chosen, none left
    const control = select(`filter-${f}`, ["", ...Object.keys(counts)], filters[f],
      { "": "all", ...Object.fromEntries(Object.entries(counts).map(([v, n]) => [v, `${v} (${n})`])) });
    control.addEventListener("change", () => go({ [f]: control.value, offset: 0 }));
    return field(f, control);
  }));
  const rows = page.rows.map((row) => el("tr", {},
    el("td", {}, el("a", { href: `#/run?${query({ name, ...filters, offset, index: row.index })}`, className: "open" }, row.case_id)),
    el("td", {}, row.persona), el("td", {}, row.bias), el("td", {}, row.doctor), el("td", {}, row.outcome),
    el("td", { className: `result ${row.result.replace(" ", "-")}` }, row.result), el("td", {}, row.validity),
    el("td", { className: "num" }, row.turns), el("td", { className: "num" }, number(row.reward))));
  const last = Math.min(offset + PAGE_SIZE, page.total);
  const pager = el("div", { className: "pager" },
    el("button", { id: "prev", disabled: offset === 0, onclick: () => go({ offset: Math.max(0, offset - PAGE_SIZE) }) }, "Previous"),
    el("span", { id: "row-count" }, page.total ? `${offset + 1}–${last} of ${page.total}` : "no consultations match"),
    page.indexing.done ? null : el("span", { id: "indexing", className: "meta" },
      `reading the run: ${Math.floor((100 * page.indexing.indexed_bytes) / Math.max(1, page.indexing.size))}%`),
    el("button", { id: "next", disabled: last >= page.total, onclick: () => go({ offset: offset + PAGE_SIZE }) }, "Next"));
  if (!page.indexing.done) watchIndexing(name, params);
  const plots = report.images.map((image) => el("figure", {},
    el("img", { src: `/api/runs/report/image?${query({ run: name, name: image })}`, alt: image, loading: "lazy" }),
    el("figcaption", {}, image)));
  fill(main, el("p", {}, el("a", { href: "#/runs" }, "← all runs")), el("h1", {}, name), filterBar, pager,
    table("rows", ["case", "persona", "bias", "doctor", "outcome", "result", "validity", "turns", "reward"], rows),
    facets.problems.length ? el("ul", { className: "problems" }, facets.problems.map((p) => el("li", {}, p))) : null,
    el("section", { id: "report" }, el("h2", {}, "Report"),
      plots.length ? el("div", { className: "plots" }, plots) : el("p", {}, "No report yet: run `clinic-env report` on this folder.")));
}

function watchIndexing(name, params) {
  const here = location.hash;
  const tick = async () => {
    if (location.hash !== here) return;
    const facets = await api(`/api/runs/facets?${query({ run: name })}`);
    const progress = facets.indexing;
    const note = document.getElementById("indexing");
    if (progress.done || !note) return runView(params);
    note.textContent = `reading the run: ${Math.floor((100 * progress.indexed_bytes) / Math.max(1, progress.size))}%`;
    setTimeout(() => tick().catch(fail), 1000);
  };
  setTimeout(() => tick().catch(fail), 1000);
}

function turnView(turn) {
  const parts = Object.entries(turn.reward_breakdown || {}).map(([k, v]) => `${k} ${number(v)}`).join(", ");
  const meta = [turn.action ? `action ${turn.action.kind}` : "unparsed", `reward ${number(turn.reward)}`];
  if (parts) meta.push(`(${parts})`);
  if (turn.facts_revealed.length) meta.push(`facts told ${turn.facts_revealed.join(", ")}`);
  if (turn.inquiry) meta.push(`inquiry ${turn.inquiry}`);
  if (turn.cost_usd) meta.push(`cost ${money(turn.cost_usd)}, ${turn.turnaround_hours} h`);
  if (turn.fidelity.length) meta.push(`flags ${turn.fidelity.join(", ")}`);
  if (turn.redacted) meta.push("redacted");
  if (turn.error) meta.push(`error: ${turn.error}`);
  return el("div", { className: "turn", "data-turn": turn.index },
    chatMessage("doctor", turn.doctor_message),
    chatMessage(turn.responder, turn.observation, `turn ${turn.index} · ${meta.join(" · ")}`));
}

async function consultationView(params) {
  const name = params.get("name");
  const index = Number(params.get("index"));
  const detail = await api(`/api/runs/consultation?${query({ run: name, index })}`);
  const t = detail.transcript;
  const back = new URLSearchParams(params);
  back.delete("index");
  const aside = [el("h2", {}, "Answer"),
    el("p", { id: "answer" }, detail.case ? detail.case.diagnosis : "(case not at hand)"),
    el("p", {}, `Doctor's list: ${t.differential.length ? t.differential.join("; ") : "none"}`),
    el("h2", {}, "Scores"), table("score", ["score", "value"], scoreRows(t.score.components)),
    el("h2", {}, "Reward parts (episode totals)"),
    table("reward-totals", ["part", "total"], Object.entries(detail.reward_totals).map(([k, v]) =>
      el("tr", {}, el("td", {}, k), el("td", { className: "num" }, number(v)))))];
  if (detail.case) {
    aside.push(el("h2", {}, "Hidden facts"), el("ol", { id: "facts", start: 0 }, detail.case.facts.map((f) =>
      el("li", { className: f.told_at ? "told" : "untold" }, `[${f.category}] ${f.text}`,
        el("span", { className: "meta" }, f.told_at ? ` told at turn ${f.told_at}` : " never told")))));
  }
  fill(main, 
    el("p", {}, el("a", { href: `#/run?${back}`, id: "back" }, "← back to the run")),
    el("h1", {}, t.id),
    el("p", { className: "meta" }, [`dataset ${t.dataset}`, `case ${t.case_id}`, `persona ${t.persona}`,
      `biases ${t.biases.join("+") || "none"}`, `agents ${Object.entries(t.agents).map(([r, a]) => `${r}=${a}`).join(", ")}`,
      `outcome ${t.outcome}`, `validity ${t.validity || "unchecked"}`, t.error ? `error ${t.error}` : null].filter(Boolean).join(" · ")),
    el("section", { className: "consultation" },
      el("div", { id: "turns" }, chatMessage("system", t.opening_observation), t.turns.map(turnView)),
      el("aside", { className: "card" }, aside)));
}

// ------------------------------------------------------------------------------ routing

async function route() {
  errorBox.hidden = true;
  const [path, search] = (location.hash || "#/play").slice(1).split("?");
  const params = new URLSearchParams(search || "");
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("here", a.getAttribute("href") === `#${path}` || (path === "/run" && a.id === "nav-runs")));
  if (path === "/runs") return runList();
  if (path === "/run") return params.has("index") ? consultationView(params) : runView(params);
  return playSetup();
}

window.addEventListener("hashchange", () => route().catch(fail));
document.querySelectorAll("nav a").forEach((a) => a.addEventListener("click", () => {
  if (a.getAttribute("href") === location.hash) route().catch(fail);  // same address: redraw
}));
route().catch(fail);
