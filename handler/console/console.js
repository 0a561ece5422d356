// The imagegate console: the key holder's view of the API beside it (../v1/), with the key
// kept in this tab's sessionStorage and sent as the bearer header, never in a URL or cookie.
"use strict";

const API = new URL("../v1/", location.href);
const KEY = "imagegate.api_key";
const SIGNED_OUT = "imagegate.signed_out";  // why the last key was signed out
const DAY = 86400;
const BUSY = new Set(["validating", "in_progress", "finalizing", "cancelling"]);
const POLL_MS = 2000;
// A playground job polled longer than this is left to the jobs list.
const PLAY_WAIT_MS = 10 * 60 * 1000;
const charts = {};
const pages = {};
let pollTimer = null;

class ApiError extends Error {
  constructor(status, error) {
    super(error.message || `The API answered ${status}.`);
    this.status = status;
    this.code = error.code || null;
  }
}

const $ = (id) => document.getElementById(id);

// `key`: one being tried (signing in); otherwise the tab's, which a 401 signs out.
async function call(path, { method = "GET", body, params, headers = {}, key } = {}) {
  const url = new URL(path, API);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const bearer = key ?? sessionStorage.getItem(KEY);
  const init = { method, headers: { Authorization: `Bearer ${bearer}`, ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let answer;
  try {
    answer = await fetch(url, init);
  } catch (failure) {
    throw new ApiError(0, { message: `The API could not be reached (${failure.message}).` });
  }
  const text = await answer.text();
  if (!answer.ok) {
    let error = {};
    try { error = JSON.parse(text).error || {}; } catch { /* not JSON: the status says it */ }
    if (answer.status === 401 && key === undefined) signOut(error.message);
    throw new ApiError(answer.status, error);
  }
  const type = answer.headers.get("content-type") || "";
  const json = type.startsWith("application/json") && !type.startsWith("application/jsonl");
  return text && json ? JSON.parse(text) : text;
}

// Micro-units (10.00 = 10,000,000) as a decimal amount.
function money(micro) {
  return (micro / 1e6).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 6 });
}

function when(seconds) {
  return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

function cell(row, content) {
  const td = row.insertCell();
  if (content instanceof Node) td.append(content);
  else td.textContent = content ?? "";
  return td;
}

function thumbnail(image, label) {
  const img = document.createElement("img");
  img.src = image.url;
  img.alt = label;
  img.loading = "lazy";
  const link = document.createElement("a");
  link.href = image.url;
  link.target = "_blank";
  link.rel = "noopener";
  link.append(img);
  return link;
}

function say(id, message, isError = false) {
  const node = $(id);
  node.textContent = message;
  node.classList.toggle("error", isError);
}

// A list route's pages (limit, after, has_more): the first page again, or the next.
// A refresh asks again for as many rows as were loaded (up to a page of 100).
async function page(name, path, tbody, render, more) {
  const shown = $(tbody).rows.length;
  const limit = more ? 20 : Math.min(Math.max(20, shown), 100);
  const state = pages[name] || { after: null };
  const answer = await call(path, { params: { limit, after: more ? state.after : null } });
  if (!more) $(tbody).replaceChildren();
  for (const item of answer.data) render($(tbody).insertRow(), item);
  pages[name] = { after: answer.last_id };
  $(`${name}-more`).hidden = !answer.has_more;
  return answer.data;
}

// ---- signing in ----

async function signIn(event) {
  event.preventDefault();
  const key = $("api-key").value.trim();
  $("signin-error").hidden = true;
  if (!key) return refused("Paste an API key first.");
  try {
    await call("usage", { key, params: { start_time: Math.floor(Date.now() / 1000) - 60 } });
  } catch (error) {
    return refused(error.status === 401 ? `This key was refused: ${error.message}` : error.message);
  }
  sessionStorage.setItem(KEY, key);
  $("api-key").value = "";
  show();
}

function refused(message) {
  say("signin-error", message, true);
  $("signin-error").hidden = false;
  $("api-key").focus();
}

// A fresh page: nothing the key saw (its secret, its tables) stays for the next one.
function signOut(reason) {
  sessionStorage.removeItem(KEY);
  if (reason) sessionStorage.setItem(SIGNED_OUT, reason);
  location.replace(location.pathname);
}

function show() {
  $("signin").hidden = true;
  $("app").hidden = $("nav").hidden = $("sign-out").hidden = false;
  $("overview-title").focus();
  loadAll();
}

function loadAll() {
  const report = (id) => (error) => say(id, error.message, true);
  loadUsage().catch(report("play-status"));
  loadModels().catch(report("play-status"));
  loadRequests(false).catch(report("play-status"));
  loadWork();
  loadBilling().catch(report("billing-status"));
}

// ---- overview ----

async function loadUsage() {
  const days = Number($("period").value);
  const end = Math.floor(Date.now() / 1000) + 1;
  const start = end - days * DAY;
  const usage = await call("usage", { params: { start_time: start, end_time: end } });
  const stats = { balance: usage.balance, spend: usage.spend, refunded: usage.refunded };
  for (const [name, value] of Object.entries(stats)) {
    $(`stat-${name}`).textContent = money(value);
    $(`stat-${name}`).dataset.value = value;
  }
  for (const name of ["requests", "images"]) {
    $(`stat-${name}`).textContent = usage[name].toLocaleString("en-US");
    $(`stat-${name}`).dataset.value = usage[name];
  }
  drawCharts(usage, start, end);
  Object.assign($("overview").dataset, { start, end, days });  // the period shown
  return usage;
}

function drawCharts(usage, start, end) {
  const labels = [];
  for (let day = start - (start % DAY); day < end; day += DAY) {
    labels.push(new Date(day * 1000).toISOString().slice(0, 10));
  }
  const models = [...new Set(usage.daily.flatMap((d) => d.models.map((m) => m.model)))].sort();
  const perDay = new Map(usage.daily.map((d) => [d.date, d]));
  const rows = $("daily-table").tBodies[0];
  rows.replaceChildren();
  for (const d of usage.daily) {
    for (const m of d.models) {
      const row = rows.insertRow();
      for (const value of [d.date, m.model, m.requests, m.images, money(m.spend), money(m.refunded)]) {
        cell(row, value);
      }
    }
  }
  const series = (field, scale) => models.map((model, i) => ({
    label: model,
    backgroundColor: PALETTE[i % PALETTE.length],
    data: labels.map((day) => {
      const found = perDay.get(day)?.models.find((m) => m.model === model);
      return found ? found[field] / scale : 0;
    }),
  }));
  chart("spend-chart", labels, series("spend", 1e6));
  chart("images-chart", labels, series("images", 1));
}

// Okabe-Ito: told apart with any colour vision.
const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#882255"];

function chart(id, labels, datasets) {
  if (typeof Chart === "undefined") return;
  if (charts[id]) {
    charts[id].data = { labels, datasets };
    charts[id].update();
    return;
  }
  charts[id] = new Chart($(id), {
    type: "bar",
    data: { labels, datasets },
    options: {
      maintainAspectRatio: false,
      animation: false,
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } },
      plugins: { legend: { position: "bottom" } },
    },
  });
}

// ---- playground ----

let models = [];

async function loadModels() {
  models = (await call("models")).data;
  const select = $("play-model");
  select.replaceChildren(...models.map((m) => new Option(m.id, m.id)));
  modelChosen();
}

function modelChosen() {
  const model = models.find((m) => m.id === $("play-model").value);
  if (!model) return;
  $("play-size").replaceChildren(...model.sizes.map((s) => new Option(s, s, s === model.default_size, s === model.default_size)));
  $("play-n").max = model.max_n;
  $("play-seed").disabled = !model.seed;
}

async function generate(event) {
  event.preventDefault();
  const model = models.find((m) => m.id === $("play-model").value);
  const body = {
    model: model.id,
    prompt: $("play-prompt").value,
    size: $("play-size").value,
    n: Number($("play-n").value || 1),
    response_format: "url",
  };
  if ($("play-seed").value !== "" && model.seed) body.seed = Number($("play-seed").value);
  $("play-submit").disabled = true;
  $("play-images").replaceChildren();
  say("play-status", "Generating…");
  try {
    let result;
    if (model.synchronous) {
      result = await call("images/generations", { method: "POST", body });
    } else {  // its work outlasts a request: queued, then polled
      let job = await call("images/generations", { method: "POST", body: { ...body, async: true } });
      const until = Date.now() + PLAY_WAIT_MS;
      while (job.status === "in_progress" && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        job = await call(`images/jobs/${job.id}`);
      }
      if (job.status === "in_progress") throw new Error(`${job.id} is still running: see the jobs below.`);
      if (job.status === "cancelled") throw new Error(`${job.id} was cancelled.`);
      if (job.status !== "succeeded") throw new ApiError(job.status_code || 0, job.error || { message: `${job.id} failed.` });
      result = job.result;
    }
    $("play-images").replaceChildren(...result.data.map((image, i) => thumbnail(image, `Image ${i + 1} of “${body.prompt}”`)));
    const usage = await loadUsage();
    const left = result.remaining_balance ?? usage.balance;
    say("play-status", `${result.data.length} image(s), cost ${money(result.cost)}; balance ${money(left)}.`);
    $("play-status").dataset.cost = result.cost;
    loadRequests(false).catch(() => {});
  } catch (error) {
    say("play-status", error.message, true);
  } finally {
    $("play-submit").disabled = false;
  }
}

// ---- requests, jobs, batches ----

function loadRequests(more) {
  return page("requests", "usage/requests", "requests-table", (row, r) => {
    for (const value of [when(r.created), r.model, r.size, `${r.images} of ${r.n}`, r.status, money(r.cost), money(r.refunded)]) {
      cell(row, value);
    }
    row.dataset.requestId = r.request_id;
  }, more);
}

let working = false;  // whether the last look found work still running
let expected = null;  // the id just submitted: the list shows it once its index has it
let pollDelay = POLL_MS;

async function loadWork() {
  clearTimeout(pollTimer);
  let busy;
  try {
    const [batches, jobs] = await keepingFocus(() => Promise.all([loadBatches(false), loadJobs(false)]));
    const items = [...batches, ...jobs];
    if (expected && items.some((item) => item.id === expected)) expected = null;
    busy = Boolean(expected) || items.some((item) => BUSY.has(item.status));
    pollDelay = POLL_MS;
  } catch (error) {  // a failed look: look again, later each time
    say("work-status", error.message, true);
    busy = true;
    pollDelay = Math.min(pollDelay * 2, 30000);
  }
  if (working && !busy) {  // it has all run: what it cost shows in the overview now
    loadUsage().catch(() => {});
    loadRequests(false).catch(() => {});
  }
  working = busy;
  if (busy && !document.hidden) pollTimer = setTimeout(loadWork, pollDelay);
}

// Re-rendered rows would drop the keyboard's place: put it back on the same control.
async function keepingFocus(render) {
  const focused = document.activeElement;
  const row = focused?.closest("tr[data-batch-id], tr[data-job-id]");
  const result = await render();
  if (row && !document.contains(focused)) {
    const selector = row.dataset.batchId ? `tr[data-batch-id="${row.dataset.batchId}"]` : `tr[data-job-id="${row.dataset.jobId}"]`;
    const again = [...document.querySelectorAll(`${selector} button, ${selector} a`)].find((c) => c.textContent === focused.textContent);
    again?.focus();
  }
  return result;
}

function loadBatches(more) {
  return page("batches", "batches", "batches-table", (row, b) => {
    const counts = b.request_counts;
    row.dataset.batchId = b.id;
    cell(row, Object.assign(document.createElement("code"), { textContent: b.id }));
    cell(row, when(b.created_at));
    cell(row, b.status).className = "status";
    const bar = document.createElement("progress");
    bar.max = counts.total || 1;
    bar.value = counts.completed + counts.failed;
    bar.setAttribute("aria-label", `${counts.completed + counts.failed} of ${counts.total} lines`);
    const progress = cell(row, bar);
    progress.append(` ${counts.completed + counts.failed}/${counts.total}`);
    cell(row, money(b.cost));
    const output = cell(row, "");
    if (b.output_url) {
      output.append(Object.assign(document.createElement("a"), { href: b.output_url, textContent: "output.jsonl" }), " ");
      const images = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: "Images" });
      images.addEventListener("click", () => batchImages(b.id).catch((e) => say("work-status", e.message, true)));
      output.append(images);
    }
  }, more);
}

async function batchImages(batchId) {
  const lines = (await call(`batches/${batchId}/output`, { params: { limit: 50 } })).split("\n").filter(Boolean);
  const images = [];
  for (const line of lines.map((l) => JSON.parse(l))) {
    for (const [i, image] of (line.response?.body?.data || []).entries()) {
      images.push(thumbnail(image, `${line.custom_id ?? line.id}, image ${i + 1}`));
    }
  }
  $("batch-images").replaceChildren(...images);
  say("work-status", `${images.length} image(s) of ${batchId}.`);
}

function loadJobs(more) {
  return page("jobs", "images/jobs", "jobs-table", (row, job) => {
    row.dataset.jobId = job.id;
    cell(row, Object.assign(document.createElement("code"), { textContent: job.id }));
    cell(row, when(job.created_at));
    cell(row, job.error ? `${job.status}: ${job.error.message}` : job.status).className = "status";
    cell(row, money(job.cost));
    const images = cell(row, "");
    for (const [i, image] of (job.result?.data || []).entries()) images.append(thumbnail(image, `${job.id}, image ${i + 1}`));
    const actions = cell(row, "");
    if (job.status === "in_progress") {
      const cancel = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: "Cancel" });
      cancel.setAttribute("aria-label", `Cancel ${job.id}`);
      cancel.addEventListener("click", async () => {
        try {
          await call(`images/jobs/${job.id}/cancel`, { method: "POST" });
          say("work-status", `${job.id} cancelled.`);
        } catch (error) {
          say("work-status", error.message, true);
        }
        loadWork();
      });
      actions.append(cancel);
    }
  }, more);
}

async function submitBatch(event) {
  event.preventDefault();
  const prompts = $("batch-prompts").value.split("\n").map((p) => p.trim()).filter(Boolean);
  if (!prompts.length) return say("work-status", "Write at least one prompt, one per line.", true);
  const model = $("play-model").value || undefined;
  const input = prompts.map((prompt, i) => ({
    custom_id: `line-${i + 1}`,
    method: "POST",
    url: "/v1/images/generations",
    body: { prompt, model, size: $("play-size").value || undefined },
  }));
  try {
    const batch = await call("batches", { method: "POST", body: { input } });
    say("work-status", `Batch ${batch.id} submitted: ${prompts.length} line(s).`);
    $("work-status").dataset.batchId = batch.id;
    $("batch-prompts").value = "";
    working = true;  // however soon it is done, the overview is refreshed once it is
    expected = batch.id;
    await loadWork();
  } catch (error) {
    say("work-status", error.message, true);
  }
}

// ---- billing and webhooks ----

async function loadBilling() {
  const account = await call("billing");
  const terms = account.card_top_ups;
  $("topup-form").hidden = !terms;
  $("topup-none").hidden = Boolean(terms);
  if (terms) {
    $("topup-currency").textContent = terms.currency.toUpperCase();
    $("topup-amount").min = terms.minimum / 1e6;
    $("topup-amount").max = terms.maximum / 1e6;
    $("topup-bounds").textContent = `From ${money(terms.minimum)} to ${money(terms.maximum)}.`;
  }
  await loadLedger(false);
}

function loadLedger(more) {
  return page("ledger", "billing/transactions", "ledger-table", (row, t) => {
    for (const value of [when(t.created), t.type, money(t.amount), t.reason || t.model || t.source || t.reference]) cell(row, value);
  }, more);
}

async function topUp(event) {
  event.preventDefault();
  const back = location.href.split("#")[0] + "#billing";
  try {
    const session = await call("billing/checkout", {
      method: "POST",
      body: { amount: Math.round(Number($("topup-amount").value) * 1e6), success_url: back, cancel_url: back },
    });
    location.assign(session.url);
  } catch (error) {
    say("billing-status", error.message, true);
  }
}

async function toggleSecret() {
  const shown = !$("secret-value").hidden;
  if (!shown) {
    try {
      $("secret-value").textContent = (await call("webhooks/secret")).key;
    } catch (error) {
      $("secret-value").textContent = error.message;
    }
  } else {
    $("secret-value").textContent = "";
  }
  $("secret-value").hidden = shown;
  $("secret-toggle").setAttribute("aria-expanded", String(!shown));
  $("secret-toggle").textContent = shown ? "Reveal signing secret" : "Hide signing secret";
}

// ---- wiring ----

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut());
  $("period").addEventListener("change", () => loadUsage().catch((e) => say("play-status", e.message, true)));
  $("refresh").addEventListener("click", loadAll);
  $("play-model").addEventListener("change", modelChosen);
  $("play-form").addEventListener("submit", generate);
  $("batch-form").addEventListener("submit", submitBatch);
  $("topup-form").addEventListener("submit", topUp);
  $("secret-toggle").addEventListener("click", toggleSecret);
  const more = (load, status) => () => load(true).catch((error) => say(status, error.message, true));
  $("requests-more").addEventListener("click", more(loadRequests, "play-status"));
  $("batches-more").addEventListener("click", more(loadBatches, "work-status"));
  $("jobs-more").addEventListener("click", more(loadJobs, "work-status"));
  $("ledger-more").addEventListener("click", more(loadLedger, "billing-status"));
  // Not polled while the tab is hidden; looked at again when it shows.
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && working && sessionStorage.getItem(KEY)) loadWork();
  });
  const reason = sessionStorage.getItem(SIGNED_OUT);
  sessionStorage.removeItem(SIGNED_OUT);
  if (sessionStorage.getItem(KEY)) show();
  else if (reason) refused(`Signed out: ${reason}`);
});
