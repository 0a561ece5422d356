// The imagegate console: the key holder's view of the API beside it (../v1/), with the key
// kept in this tab's sessionStorage and sent as the bearer header, never in a URL or cookie.
"use strict";

const API = new URL("../v1/", location.href);
const KEY = "imagegate.api_key";
const SIGNED_OUT = "imagegate.signed_out";  // why the last key was signed out
const CHECKOUT = "imagegate.checkout";  // the card payment the tab went to make
const DAY = 86400;
const BUSY = new Set(["validating", "in_progress", "finalizing", "cancelling"]);
const POLL_MS = 2000;
// A playground job polled longer than this is left to the jobs list.
const PLAY_WAIT_MS = 10 * 60 * 1000;
// Stripe's event usually credits a card payment within seconds; past this, the payer is told
// it will show later (a bank debit can take days).
const CREDIT_WAIT_MS = 60 * 1000;
const charts = {};
const pages = {};
let pollTimer = null;
let moneyFormat = null;  // set from the deployment's currency (GET /v1/billing)

class ApiError extends Error {
  constructor(status, error) {
    super(error.message || `The API answered ${status}.`);
    this.status = status;
    this.code = error.code || null;
  }
}

const $ = (id) => document.getElementById(id);
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

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

// Every amount shown, one rule: micro-units (10.00 = 10,000,000) in the deployment's
// currency, with that currency's decimals (2 for USD: $0.50), more only where the amount has
// a fraction of a cent ($0.0005), up to the micro-unit.
function useCurrency(code) {
  const plain = new Intl.NumberFormat("en-US", { style: "currency", currency: code });
  moneyFormat = new Intl.NumberFormat("en-US", {
    style: "currency",
    currency: code,
    minimumFractionDigits: plain.resolvedOptions().minimumFractionDigits,
    maximumFractionDigits: 6,
  });
}

function money(micro) {
  return moneyFormat.format(micro / 1e6);
}

function amount(row, micro) {
  const td = cell(row, money(micro));
  td.className = "amount";
  td.dataset.micros = micro;
  return td;
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

// An id as it is copied: whole (never broken mid-string), with a button that copies it.
function copyable(id) {
  const code = Object.assign(document.createElement("code"), { className: "id", textContent: id });
  const both = Object.assign(document.createElement("span"), { className: "copyable" });
  both.append(code, copyButton(id, id, () => getSelection().selectAllChildren(code)));
  return both;
}

// `select`: where there is no clipboard, the text is selected for the keyboard's copy instead.
function copyButton(value, name, select) {
  const copy = Object.assign(document.createElement("button"), { type: "button", className: "secondary copy", textContent: "Copy" });
  copy.setAttribute("aria-label", `Copy ${name}`);
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value);
      copy.textContent = "Copied";
    } catch {
      select();
    }
  });
  return copy;
}

// Each cell carries its column's name, which a phone shows beside it (its table's rows stack).
function labelRows(table) {
  const names = [...table.tHead.rows[0].cells].map((th) => th.textContent);
  for (const row of table.tBodies[0].rows) {
    for (const td of row.cells) td.dataset.label = names[td.cellIndex];
  }
}

// A list route's pages (limit, after, has_more) in a table's body: the first page again, or
// the next. A refresh asks again for as many rows as were loaded (up to a page of 100).
async function page(name, path, table, render, more) {
  const body = $(table).tBodies[0];
  const limit = more ? 20 : Math.min(Math.max(20, body.rows.length), 100);
  const state = pages[name] || { after: null };
  const answer = await call(path, { params: { limit, after: more ? state.after : null } });
  if (!more) body.replaceChildren();
  for (const item of answer.data) render(body.insertRow(), item);
  labelRows($(table));
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
  sessionStorage.removeItem("imagegate.member");  // a person's sign-in (members.js)
  if (reason) sessionStorage.setItem(SIGNED_OUT, reason);
  location.replace(location.pathname);
}

function show() {
  $("signin").hidden = true;
  $("app").hidden = $("nav").hidden = $("sign-out").hidden = false;
  $("overview-title").focus();
  loadAll().then(checkoutOutcome).catch((error) => notice(error.message));
}

// The currency first: every amount is shown in it.
async function loadAll() {
  const report = (id) => (error) => say(id, error.message, true);
  try {
    await loadBilling();
  } catch (error) {
    return report("billing-status")(error);
  }
  loadUsage().catch(report("play-status"));
  loadModels().catch(report("play-status"));
  loadRequests(false).catch(report("play-status"));
  loadLedger(false).catch(report("billing-status"));
  loadWork();
}

// Something the console started moved money (a generation, a batch, a payment): every place
// that shows it is looked at again.
function moneyMoved() {
  loadRequests(false).catch(() => {});
  loadLedger(false).catch(() => {});
  return loadUsage();
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
  // A model keeps its colour in both charts: its place among every model of the period.
  const models = [...new Set(usage.daily.flatMap((d) => d.models.map((m) => m.model)))].sort();
  const perDay = new Map(usage.daily.map((d) => [d.date, d]));
  const rows = $("daily-table").tBodies[0];
  rows.replaceChildren();
  for (const d of usage.daily) {
    for (const m of d.models) {
      const row = rows.insertRow();
      for (const value of [d.date, m.model, m.requests, m.images]) cell(row, value);
      amount(row, m.spend);
      amount(row, m.refunded);
    }
  }
  labelRows($("daily-table"));
  // Only the models with something to show: a model that served nothing has no bar to name.
  const series = (field, scale) => models.flatMap((model, i) => {
    const data = labels.map((day) => {
      const found = perDay.get(day)?.models.find((m) => m.model === model);
      return found ? found[field] / scale : 0;
    });
    return data.some((value) => value > 0) ? [{ label: model, backgroundColor: PALETTE[i % PALETTE.length], data }] : [];
  });
  chart("spend-chart", labels, series("spend", 1e6), (units) => money(Math.round(units * 1e6)));
  chart("images-chart", labels, series("images", 1), (count) => count.toLocaleString("en-US"));
}

// Okabe-Ito: told apart with any colour vision.
const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#882255"];

function chart(id, labels, datasets, format) {
  if (typeof Chart === "undefined") return;
  $(id).closest("figure").querySelector(".empty").hidden = datasets.length > 0;
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
      scales: {
        x: { stacked: true },
        y: { stacked: true, beginAtZero: true, ticks: { callback: format } },
      },
      plugins: {
        legend: { position: "bottom" },
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${format(item.parsed.y)}` } },
      },
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
        await pause(POLL_MS);
        job = await call(`images/jobs/${job.id}`);
      }
      if (job.status === "in_progress") throw new Error(`${job.id} is still running: see the jobs below.`);
      if (job.status === "cancelled") throw new Error(`${job.id} was cancelled.`);
      if (job.status !== "succeeded") throw new ApiError(job.status_code || 0, job.error || { message: `${job.id} failed.` });
      result = job.result;
    }
    $("play-images").replaceChildren(...result.data.map((image, i) => thumbnail(image, `Image ${i + 1} of “${body.prompt}”`)));
    const usage = await moneyMoved();
    const left = result.remaining_balance ?? usage.balance;
    say("play-status", `${result.data.length} image(s), cost ${money(result.cost)}; balance ${money(left)}.`);
    $("play-status").dataset.cost = result.cost;
  } catch (error) {
    say("play-status", error.message, true);
  } finally {
    $("play-submit").disabled = false;
  }
}

// ---- requests, jobs, batches ----

function loadRequests(more) {
  return page("requests", "usage/requests", "requests-table", (row, r) => {
    for (const value of [when(r.created), r.model, r.size, `${r.images} of ${r.n}`, r.status]) cell(row, value);
    amount(row, r.cost);
    amount(row, r.refunded);
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
  if (working && !busy) moneyMoved().catch(() => {});  // it has all run: what it cost shows now
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
    const name = (control) => control.getAttribute("aria-label") ?? control.textContent;
    const again = [...document.querySelectorAll(`${selector} button, ${selector} a`)].find((c) => name(c) === name(focused));
    again?.focus();
  }
  return result;
}

function loadBatches(more) {
  return page("batches", "batches", "batches-table", (row, b) => {
    row.dataset.batchId = b.id;
    cell(row, copyable(b.id));
    cell(row, when(b.created_at));
    cell(row, b.status).className = "status";
    cell(row, progress(b)).className = "progress";
    amount(row, b.cost);
    const output = cell(row, "");
    if (b.output_url) {
      output.append(Object.assign(document.createElement("a"), { href: b.output_url, textContent: "output.jsonl" }), " ");
      const images = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: "Images" });
      images.addEventListener("click", () => batchImages(b.id).catch((e) => say("work-status", e.message, true)));
      output.append(images);
    }
  }, more);
}

// What became of a batch's lines: done, failed, and the rest (to run, or stopped by a cancel,
// which counts them as neither). The bar is drawn from the same counts as the words.
function progress(batch) {
  const { total, completed, failed } = batch.request_counts;
  const rest = total - completed - failed;
  const stopped = ["cancelling", "cancelled"].includes(batch.status);
  const bar = document.createElement("span");
  bar.className = "bar";
  bar.setAttribute("aria-hidden", "true");
  for (const [part, count] of [["done", completed], ["failed", failed]]) {
    const piece = Object.assign(document.createElement("span"), { className: part });
    piece.style.width = `${total ? (100 * count) / total : 0}%`;
    bar.append(piece);
  }
  const words = [`${completed} of ${total} done`];
  if (failed) words.push(`${failed} failed`);
  if (rest) words.push(`${rest} ${stopped ? "cancelled" : "to run"}`);
  const text = Object.assign(document.createElement("span"), { textContent: words.join(", ") });
  const both = document.createElement("span");
  both.append(bar, text);
  return both;
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
    cell(row, copyable(job.id));
    cell(row, when(job.created_at));
    cell(row, job.error ? `${job.status}: ${job.error.message}` : job.status).className = "status";
    amount(row, job.cost);
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
  useCurrency(account.currency);
  const terms = account.card_top_ups;
  $("topup-form").hidden = !terms;
  $("topup-none").hidden = Boolean(terms);
  if (terms) {
    $("topup-currency").textContent = terms.currency.toUpperCase();
    $("topup-amount").min = terms.minimum / 1e6;
    $("topup-amount").max = terms.maximum / 1e6;
    $("topup-bounds").textContent = `From ${money(terms.minimum)} to ${money(terms.maximum)}.`;
  }
}

function loadLedger(more) {
  return page("ledger", "billing/transactions", "ledger-table", (row, t) => {
    cell(row, when(t.created));
    cell(row, t.type);
    amount(row, t.amount);
    cell(row, t.reason || t.model || t.source || t.reference);
    row.dataset.entryId = t.id;
  }, more);
}

async function topUp(event) {
  event.preventDefault();
  const back = location.origin + location.pathname;
  const amount = Math.round(Number($("topup-amount").value) * 1e6);
  try {
    const session = await call("billing/checkout", {
      method: "POST",
      body: { amount, success_url: `${back}?checkout=paid`, cancel_url: `${back}?checkout=cancelled` },
    });
    const newest = $("ledger-table").tBodies[0].rows[0]?.dataset.entryId ?? null;
    sessionStorage.setItem(CHECKOUT, JSON.stringify({ amount, newest }));
    location.assign(session.url);
  } catch (error) {
    say("billing-status", error.message, true);
  }
}

// Back from the payment page: say what came of it, at the top, until its credit shows: a card
// top-up of the amount paid, newer than the ledger's newest entry when the page was opened
// (Stripe's events come in either order: the credit's reference is the session's or its
// payment's).
async function checkoutOutcome() {
  const outcome = new URLSearchParams(location.search).get("checkout");
  const paying = JSON.parse(sessionStorage.getItem(CHECKOUT) || "null");
  sessionStorage.removeItem(CHECKOUT);
  if (!outcome) return;
  history.replaceState(null, "", location.pathname);  // said once, not again on a reload
  if (outcome !== "paid") return notice("Payment cancelled: nothing was charged.");
  const later = "Payment made, not credited yet: it shows under Billing, Transactions, once the card network confirms it.";
  if (!paying) return notice(later);
  notice("Payment made: crediting it to your balance…");
  const until = Date.now() + CREDIT_WAIT_MS;
  while (Date.now() < until) {
    const entries = (await call("billing/transactions", { params: { limit: 20 } })).data;
    const seen = entries.findIndex((t) => t.id === paying.newest);
    const credit = entries.slice(0, seen < 0 ? undefined : seen)
      .find((t) => t.type === "topup" && t.source === "card" && t.amount === paying.amount);
    if (credit) {
      await moneyMoved();
      return notice(`Payment received: ${money(credit.amount)} added to your balance.`, "paid");
    }
    await pause(POLL_MS);
  }
  notice(later);
}

function notice(message, outcome = "") {
  say("notice", message);
  $("notice").dataset.outcome = outcome;
}

async function toggleSecret() {
  const shown = !$("secret-value").hidden;
  if (!shown) {
    try {
      // In a field of its own, whole: longer than a phone is wide, it scrolls there.
      const secret = (await call("webhooks/secret")).key;
      const field = Object.assign(document.createElement("input"), { readOnly: true, value: secret, spellcheck: false });
      field.setAttribute("aria-label", "Signing secret");
      $("secret-value").replaceChildren(field, copyButton(secret, "the signing secret", () => field.select()));
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
