// The operators' view in the console: every account, revenue and spend per day, suspending,
// reinstating and approving. Its calls go to the admin API (../admin/v1/), signed with SigV4
// by the operators' role's temporary credentials, which the identity pool gives an
// operator's sign-in (POST /v1/me/operator-credentials); no bearer token reaches the admin API.
"use strict";

const ADMIN = new URL("../admin/v1/", location.href);
let operatorKeys = null;  // the role's credentials, while they last

const bytes = (text) => new TextEncoder().encode(text);
const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
// RFC 3986, as SigV4 encodes a query: encodeURIComponent leaves !'()* as they are.
const encode = (text) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

async function hmac(key, text) {
  const imported = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", imported, bytes(text));
}

async function sha256(text) {
  return hex(await crypto.subtle.digest("SHA-256", bytes(text)));
}

async function credentials() {
  if (!operatorKeys || operatorKeys.expires_at - 60 < Date.now() / 1000) {
    operatorKeys = await member("me/operator-credentials", { method: "POST" });
  }
  return operatorKeys;
}

// A call to the admin API, signed as an AWS SDK signs it (SigV4 for execute-api).
async function admin(path, { method = "GET", body, params } = {}) {
  const keys = await credentials();
  const url = new URL(path, ADMIN);
  for (const [name, value] of Object.entries(params || {})) url.searchParams.set(name, value);
  const payload = body === undefined ? "" : JSON.stringify(body);
  const stamp = new Date().toISOString().replace(/[:-]|\.\d{3}/g, "");
  const day = stamp.slice(0, 8);
  const headers = { host: url.host, "x-amz-date": stamp, "x-amz-security-token": keys.session_token };
  if (body !== undefined) headers["content-type"] = "application/json";
  const names = Object.keys(headers).sort();
  const query = [...url.searchParams].map(([k, v]) => [encode(k), encode(v)])
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`).join("&");
  const canonical = [method, url.pathname, query, names.map((n) => `${n}:${headers[n]}\n`).join(""), names.join(";"), await sha256(payload)].join("\n");
  const scope = `${day}/${keys.region}/execute-api/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", stamp, scope, await sha256(canonical)].join("\n");
  let key = await hmac(bytes(`AWS4${keys.secret_access_key}`), day);
  for (const part of [keys.region, "execute-api", "aws4_request"]) key = await hmac(key, part);
  const signature = hex(await hmac(key, toSign));
  delete headers.host;  // the browser sends it, as signed
  headers.Authorization = `AWS4-HMAC-SHA256 Credential=${keys.access_key_id}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  const answer = await fetch(url, { method, headers, body: body === undefined ? undefined : payload });
  const json = await answer.json().catch(() => ({}));
  if (!answer.ok) throw new ApiError(answer.status, json.error || { message: json.message });
  return json;
}

async function loadOperator() {
  const end = Math.floor(Date.now() / 1000) + 1;
  const start = end - Number($("operator-period").value) * DAY;
  const [report, accounts] = await Promise.all([
    admin("report", { params: { start_time: start, end_time: end } }),
    admin("accounts"),
  ]);
  useCurrency(report.currency);
  const totals = report.totals;
  for (const [id, value] of [["paid-in", totals.paid_in], ["charged", totals.charged], ["credited", totals.credited], ["adjusted", totals.adjusted], ["reversed", totals.reversed]]) {
    $(`operator-${id}`).textContent = money(value);
    $(`operator-${id}`).dataset.value = value;
  }
  const days = $("operator-days-table").tBodies[0];
  days.replaceChildren();
  for (const d of report.days) {
    const row = days.insertRow();
    cell(row, d.date);
    for (const value of [d.paid_in, d.charged, d.credited, d.adjusted, d.reversed]) amount(row, value);
    cell(row, d.requests);
    cell(row, d.refunded_requests);
  }
  labelRows($("operator-days-table"));
  const names = new Map(accounts.data.map((a) => [a.id, a.name]));
  const top = $("operator-top-table").tBodies[0];
  top.replaceChildren();
  for (const t of report.top_accounts) {
    const row = top.insertRow();
    cell(row, copyable(t.account_id));
    cell(row, names.get(t.account_id) ?? "");
    amount(row, t.charged);
  }
  labelRows($("operator-top-table"));
  const margins = $("operator-margin-table").tBodies[0];
  margins.replaceChildren();
  for (const m of report.margins.by_placement) {
    const row = margins.insertRow();
    cell(row, m.model);
    cell(row, m.placement ?? "none");
    cell(row, m.requests);
    for (const value of [m.revenue, m.cost, m.margin]) amount(row, value);
  }
  labelRows($("operator-margin-table"));
  const rows = $("operator-accounts-table").tBodies[0];
  rows.replaceChildren();
  for (const a of accounts.data) {
    const row = rows.insertRow();
    row.dataset.accountId = a.id;
    cell(row, copyable(a.id));
    cell(row, a.name);
    cell(row, a.status.replace("_", " "));
    amount(row, a.balance);
    amount(row, a.spent);
    cell(row, when(a.created_at));
    const act = a.status === "active" ? ["Suspend", suspend] : [a.status === "awaiting_approval" ? "Approve" : "Reinstate", reinstate];
    cell(row, actionButton(act[0], { name: a.name }, () => act[1](a)));
  }
  labelRows($("operator-accounts-table"));
}

async function suspend(account) {
  const reason = $("operator-reason").value.trim();
  if (!reason) {
    say("operator-status", "Say why first: the account's members see the reason.", true);
    return $("operator-reason").focus();
  }
  await changed(admin(`accounts/${account.id}/suspend`, { method: "POST", body: { reason } }), `${account.name} is suspended: its keys are refused.`);
}

async function reinstate(account) {
  await changed(admin(`accounts/${account.id}/reinstate`, { method: "POST" }), `${account.name} is active.`);
}

async function changed(call, message) {
  try {
    await call;
    say("operator-status", message);
    await loadOperator();
  } catch (error) {
    say("operator-status", error.message, true);
  }
}

// members.js shows the section once GET /v1/me says the person is an operator.
function showOperator() {
  $("operator").hidden = $("operator-link").hidden = false;
  loadOperator().catch((error) => say("operator-status", error.message, true));
}

document.addEventListener("DOMContentLoaded", () => {
  $("operator-period").addEventListener("change", () => loadOperator().catch((e) => say("operator-status", e.message, true)));
});
