// The console for people with a login: sign up, confirm and sign in by email (the API calls
// the members' user pool), then the account as the person's role allows: its keys, usage,
// billing and members. The sign-in's tokens stay in this tab's sessionStorage, as a key does.
// Shares console.js's helpers (call, cell, money, labelRows, copyButton, when, say).
"use strict";

const MEMBER = "imagegate.member";  // {id_token, refresh_token}
let pending = null;  // {email, password} between sign-up and confirmation: signed in after
let me = null;  // GET /v1/me as last read

function tokens() {
  return JSON.parse(sessionStorage.getItem(MEMBER) || "null");
}

// A call as the signed-in person: an expired ID token is refreshed once, then the call made
// again; any other 401 signs out.
async function member(path, options = {}) {
  const held = tokens();
  try {
    return await call(path, { ...options, key: held.id_token });
  } catch (error) {
    if (error.status !== 401) throw error;
    if (error.code === "token_expired" && held.refresh_token) {
      const fresh = await call("me/refresh", { method: "POST", body: { refresh_token: held.refresh_token }, key: "" });
      sessionStorage.setItem(MEMBER, JSON.stringify({ ...held, id_token: fresh.id_token }));
      return call(path, { ...options, key: fresh.id_token });
    }
    signOut(error.message);
    throw error;
  }
}

function memberRefused(message) {
  say("member-error", message, true);
  $("member-error").hidden = false;
}

async function signInByEmail(email, password) {
  const signed = await call("me/sign-in", { method: "POST", body: { email, password }, key: "" });
  sessionStorage.setItem(MEMBER, JSON.stringify({ id_token: signed.id_token, refresh_token: signed.refresh_token }));
  showAccount();
}

async function memberSignIn(event) {
  event.preventDefault();
  $("member-error").hidden = true;
  const email = $("member-email").value.trim();
  const password = $("member-password").value;
  if (!email || !password) return memberRefused("Give your email and your password.");
  try {
    await signInByEmail(email, password);
  } catch (error) {
    if (error.code === "email_not_confirmed") {
      pending = { email, password };
      return askForCode(email);
    }
    if (error.code === "new_password_required") {
      pending = { email, password };
      $("new-password-form").hidden = false;
      return $("new-password").focus();
    }
    memberRefused(error.message);
  }
}

// An invited login's first sign-in: the emailed temporary password for one of its own.
async function setNewPassword(event) {
  event.preventDefault();
  $("member-error").hidden = true;
  const body = { ...pending, new_password: $("new-password").value };
  try {
    const signed = await call("me/new-password", { method: "POST", body, key: "" });
    sessionStorage.setItem(MEMBER, JSON.stringify({ id_token: signed.id_token, refresh_token: signed.refresh_token }));
    showAccount();
  } catch (error) {
    memberRefused(error.message);
  }
}

function openSignUp() {
  const form = $("sign-up-form");
  form.hidden = !form.hidden;
  $("sign-up-open").setAttribute("aria-expanded", String(!form.hidden));
  if (!form.hidden) $("sign-up-email").focus();
}

async function signUp(event) {
  event.preventDefault();
  $("member-error").hidden = true;
  const email = $("sign-up-email").value.trim();
  const password = $("sign-up-password").value;
  try {
    await call("me/sign-up", { method: "POST", body: { email, password }, key: "" });
  } catch (error) {
    return memberRefused(error.message);
  }
  pending = { email, password };
  $("sign-up-form").hidden = true;
  askForCode(email);
}

function askForCode(email) {
  $("confirm-email").textContent = email;
  $("confirm-form").hidden = false;
  say("member-status", `A code was sent to ${email}: type it below.`);
  $("confirm-code").focus();
}

async function confirmCode(event) {
  event.preventDefault();
  $("member-error").hidden = true;
  const email = $("confirm-email").textContent;
  try {
    await call("me/confirm", { method: "POST", body: { email, code: $("confirm-code").value.trim() }, key: "" });
  } catch (error) {
    return memberRefused(error.message);
  }
  $("confirm-form").hidden = true;
  if (pending) return signInByEmail(pending.email, pending.password).catch((error) => memberRefused(error.message));
  say("member-status", "Confirmed: sign in with your email and password.");
}

async function resendCode() {
  try {
    await call("me/confirm/resend", { method: "POST", body: { email: $("confirm-email").textContent }, key: "" });
    say("member-status", "A new code was sent.");
  } catch (error) {
    memberRefused(error.message);
  }
}

// ---- the account ----

function showAccount() {
  pending = null;
  $("signin").hidden = $("member-signin").hidden = true;
  $("account-app").hidden = $("account-nav").hidden = $("sign-out").hidden = false;
  $("account-title").focus();
  loadAccount().then(accountCheckout).catch((error) => say("account-notice", error.message, true));
}

function may(permission) {
  const grants = { owner: ["keys", "usage", "billing", "members"], developer: ["keys", "usage"], billing: ["billing"] };
  return Boolean(me?.member) && grants[me.member.role].includes(permission);
}

async function loadAccount() {
  me = await member("me");
  const account = me.account;
  $("account-who").textContent = me.member
    ? `${me.email}, ${me.member.role} of ${account.name}.`
    : `Signed in as ${me.email}.`;
  $("open-form").hidden = Boolean(me.member) || Boolean(me.invitation) || me.sign_up === "invitation" || me.operator;
  $("invitation-offer").hidden = Boolean(me.member) || !me.invitation;
  if (me.invitation) {
    const i = me.invitation;
    $("invitation-text").textContent = `${i.invited_by} invited you to their account as ${i.role} (until ${when(i.expires_at)}).`;
  } else if (!me.member && me.sign_up === "invitation") {
    say("account-status-text", "This deployment opens accounts by invitation: ask an account's owner to invite you.");
  }
  if (me.operator) showOperator();  // operator.js
  $("account-stats").hidden = !account;
  for (const [section, permission] of [["keys", "keys"], ["account-usage", "usage"], ["account-billing", "billing"], ["members", null]]) {
    $(section).hidden = permission ? !may(permission) : !me.member;
  }
  if (!account) return;
  useCurrency(account.currency);
  for (const node of document.querySelectorAll("#account-app .currency")) node.textContent = account.currency.toUpperCase();
  for (const [name, value] of Object.entries({ balance: account.balance, held: account.held, spent: account.spent })) {
    $(`account-${name}`).textContent = money(value);
    $(`account-${name}`).dataset.value = value;
  }
  const statuses = { active: "Active", suspended: "Suspended", awaiting_approval: "Awaiting approval" };
  $("account-status").textContent = statuses[account.status];
  $("account-status").dataset.value = account.status;
  if (account.status === "awaiting_approval") say("account-status-text", "An operator approves new accounts: its keys work once it is approved.");
  else if (account.status === "suspended") say("account-status-text", `Suspended: ${account.suspended_because}.`, true);
  const loads = [];
  if (may("keys")) loads.push(loadKeys());
  if (may("usage")) loads.push(loadAccountUsage());
  if (may("billing")) loads.push(loadAccountLedger(), Promise.resolve(showTopUp()));
  loads.push(loadMembers());
  await Promise.all(loads);
}

async function openAccount(event) {
  event.preventDefault();
  try {
    await member("me/account", { method: "POST", body: { name: $("open-name").value.trim() } });
    await loadAccount();
  } catch (error) {
    say("account-status-text", error.message, true);
  }
}

async function acceptInvitation() {
  try {
    await member("me/invitation", { method: "POST" });
    await loadAccount();
  } catch (error) {
    say("account-status-text", error.message, true);
  }
}

// ---- keys ----

async function loadKeys() {
  const keys = (await member("account/keys")).data;
  const body = $("keys-table").tBodies[0];
  body.replaceChildren();
  for (const key of keys) {
    const row = body.insertRow();
    row.dataset.keyId = key.id;
    cell(row, key.name);
    cell(row, copyable(key.id));
    cell(row, key.status);
    budget(row, key.spent_today, key.daily_spend_cap);
    budget(row, key.spent_this_month, key.monthly_spend_cap);
    amount(row, key.spent);
    cell(row, when(key.created_at));
    const actions = cell(row, "");
    if (key.status === "active") {
      actions.append(actionButton("Change", key, editKey), actionButton("Rotate", key, rotateKey), actionButton("Revoke", key, revokeKey));
    }
  }
  $("keys-none").hidden = keys.length > 0;
  $("keys-table").hidden = keys.length === 0;
  labelRows($("keys-table"));
}

// What a key spent of its budget (or alone, where it has none).
function budget(row, spent, cap) {
  const td = amount(row, spent);
  if (cap !== null) td.textContent = `${money(spent)} of ${money(cap)}`;
}

// A row's button: `name` is what it does, and a screen reader hears what to (its `name`).
function actionButton(name, subject, act) {
  const button = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: name });
  button.setAttribute("aria-label", `${name} ${subject.name}`);
  button.addEventListener("click", () => act(subject, button));
  return button;
}

function showSecret(secret) {
  const field = Object.assign(document.createElement("input"), { readOnly: true, value: secret, spellcheck: false });
  field.setAttribute("aria-label", "The new key");
  $("key-secret-value").replaceChildren(field, copyButton(secret, "the new key", () => field.select()));
  $("key-secret").hidden = false;
}

async function createKey(event) {
  event.preventDefault();
  const micros = (id) => ($(id).value ? Math.round(Number($(id).value) * 1e6) : null);
  const body = { name: $("key-name").value.trim(), daily_spend_cap: micros("key-daily"), monthly_spend_cap: micros("key-monthly") };
  try {
    const made = await member("account/keys", { method: "POST", body });
    showSecret(made.api_key);
    say("keys-status", `Key ${made.key.name} made.`);
    $("key-form").reset();
    await loadKeys();
  } catch (error) {
    say("keys-status", error.message, true);
  }
}

let editing = null;  // the key the edit form is for

function editKey(key) {
  editing = key;
  const units = (micros) => (micros === null ? "" : String(micros / 1e6));
  $("edit-name").value = key.name;
  $("edit-daily").value = units(key.daily_spend_cap);
  $("edit-monthly").value = units(key.monthly_spend_cap);
  $("key-edit-title").textContent = `Change ${key.name}`;
  $("key-edit-form").hidden = false;
  $("edit-name").focus();
}

// What the form says of the key: its name, and its budgets (an empty one lifted).
async function saveKey(event) {
  event.preventDefault();
  const micros = (id) => ($(id).value ? Math.round(Number($(id).value) * 1e6) : null);
  const body = { name: $("edit-name").value.trim(), daily_spend_cap: micros("edit-daily"), monthly_spend_cap: micros("edit-monthly") };
  try {
    await member(`account/keys/${editing.id}`, { method: "PATCH", body });
    say("keys-status", `${body.name} is saved.`);
    $("key-edit-form").hidden = true;
    await loadKeys();
  } catch (error) {
    say("keys-status", error.message, true);
  }
}

async function rotateKey(key) {
  try {
    const made = await member(`account/keys/${key.id}/rotate`, { method: "POST", body: { grace_seconds: 86400 } });
    showSecret(made.api_key);
    say("keys-status", `${key.name} has a new secret; the old one works for a day more.`);
    await loadKeys();
  } catch (error) {
    say("keys-status", error.message, true);
  }
}

// Two presses: the first asks, the second revokes.
async function revokeKey(key, button) {
  if (!button.dataset.asked) {
    button.dataset.asked = "1";
    button.textContent = "Press again to revoke";
    return;
  }
  try {
    await member(`account/keys/${key.id}`, { method: "DELETE" });
    say("keys-status", `${key.name} is revoked: it works no more.`);
    await loadKeys();
  } catch (error) {
    say("keys-status", error.message, true);
  }
}

// ---- usage ----

async function loadAccountUsage() {
  const end = Math.floor(Date.now() / 1000) + 1;
  const start = end - Number($("account-period").value) * DAY;
  const usage = await member("account/usage", { params: { start_time: start, end_time: end } });
  $("account-usage-spend").textContent = money(usage.spend);
  $("account-usage-spend").dataset.value = usage.spend;
  for (const name of ["requests", "images"]) {
    $(`account-usage-${name}`).textContent = usage[name].toLocaleString("en-US");
    $(`account-usage-${name}`).dataset.value = usage[name];
  }
  const body = $("account-usage-table").tBodies[0];
  body.replaceChildren();
  for (const row of usage.data) {
    const tr = body.insertRow();
    tr.dataset.keyId = row.key_id;
    for (const value of [row.key_name, row.model, row.requests, row.images]) cell(tr, value);
    amount(tr, row.spend);
    amount(tr, row.refunded);
  }
  $("account-usage-empty").hidden = usage.data.length > 0;
  $("account-usage-table").hidden = usage.data.length === 0;
  labelRows($("account-usage-table"));
}

// ---- billing ----

function showTopUp() {
  const terms = me.card_top_ups;
  $("account-topup-form").hidden = !terms;
  if (!terms) return say("account-billing-status", "This deployment takes no card payments; ask its operator to top up the account.");
  for (const node of document.querySelectorAll(".currency-code")) node.textContent = terms.currency.toUpperCase();
  $("account-topup-amount").min = terms.minimum / 1e6;
  $("account-topup-amount").max = terms.maximum / 1e6;
  $("account-topup-bounds").textContent = `From ${money(terms.minimum)} to ${money(terms.maximum)}.`;
}

async function loadAccountLedger() {
  const entries = (await member("account/billing/transactions", { params: { limit: 20 } })).data;
  const body = $("account-ledger-table").tBodies[0];
  body.replaceChildren();
  for (const t of entries) {
    const row = body.insertRow();
    row.dataset.entryId = t.id;
    cell(row, when(t.created));
    cell(row, t.type);
    amount(row, t.amount);
    cell(row, t.reason || t.model || t.source || t.reference);
  }
  $("account-ledger-none").hidden = entries.length > 0;
  $("account-ledger-table").hidden = entries.length === 0;
  labelRows($("account-ledger-table"));
  return entries;
}

async function accountTopUp(event) {
  event.preventDefault();
  const back = location.origin + location.pathname;
  const amount = Math.round(Number($("account-topup-amount").value) * 1e6);
  try {
    const session = await member("account/billing/checkout", {
      method: "POST",
      body: { amount, success_url: `${back}?checkout=paid`, cancel_url: `${back}?checkout=cancelled` },
    });
    sessionStorage.setItem(CHECKOUT, JSON.stringify({ amount, balance: me.account.balance }));
    location.assign(session.url);
  } catch (error) {
    say("account-billing-status", error.message, true);
  }
}

// Back from the payment page: the credit shows once Stripe's event reached the ledger.
async function accountCheckout() {
  const outcome = new URLSearchParams(location.search).get("checkout");
  const paying = JSON.parse(sessionStorage.getItem(CHECKOUT) || "null");
  sessionStorage.removeItem(CHECKOUT);
  if (!outcome) return;
  history.replaceState(null, "", location.pathname);
  if (outcome !== "paid") return say("account-notice", "Payment cancelled: nothing was charged.");
  say("account-notice", "Payment made: crediting it to the account…");
  const until = Date.now() + CREDIT_WAIT_MS;
  while (paying && Date.now() < until) {
    const entries = await loadAccountLedger();
    const credit = entries.find((t) => t.type === "topup" && t.source === "card" && t.amount === paying.amount);
    if (credit) {
      await loadAccount();
      say("account-notice", `Payment received: ${money(credit.amount)} added to the account.`);
      $("account-notice").dataset.outcome = "paid";
      return;
    }
    await pause(POLL_MS);
  }
  say("account-notice", "Payment made, not credited yet: it shows under Billing once the card network confirms it.");
}

// ---- members ----

async function loadMembers() {
  const owner = me.member.role === "owner";
  const people = await member("account/members");
  const body = $("members-table").tBodies[0];
  body.replaceChildren();
  for (const person of people) {
    const row = body.insertRow();
    cell(row, person.email);
    cell(row, owner && person.id !== me.member.id ? roleChoice(person) : person.role);
    cell(row, when(person.joined_at));
    const actions = cell(row, "");
    if (owner && person.id !== me.member.id) {
      const remove = actionButton("Remove", { name: person.email }, () => removeMember(person));
      actions.append(remove);
    }
  }
  labelRows($("members-table"));
  $("invite-form").hidden = $("invitations").hidden = !owner;
  if (!owner) return;
  const invitations = await member("account/invitations");
  const rows = $("invitations-table").tBodies[0];
  rows.replaceChildren();
  for (const invitation of invitations) {
    const row = rows.insertRow();
    cell(row, invitation.email);
    cell(row, invitation.role);
    cell(row, when(invitation.expires_at));
    cell(row, actionButton("Withdraw", { name: invitation.email }, () => withdraw(invitation)));
  }
  $("invitations-none").hidden = invitations.length > 0;
  $("invitations-table").hidden = invitations.length === 0;
  labelRows($("invitations-table"));
}

// An owner gives another member a role: the change is made as soon as it is chosen.
function roleChoice(person) {
  const choice = document.createElement("select");
  choice.setAttribute("aria-label", `Role of ${person.email}`);
  choice.append(...["owner", "developer", "billing"].map((r) => new Option(r, r, r === person.role, r === person.role)));
  choice.addEventListener("change", async () => {
    try {
      await member(`account/members/${person.id}`, { method: "PATCH", body: { role: choice.value } });
      say("members-status", `${person.email} is ${choice.value} now.`);
    } catch (error) {
      say("members-status", error.message, true);
      choice.value = person.role;
    }
  });
  return choice;
}

async function removeMember(person) {
  try {
    await member(`account/members/${person.id}`, { method: "DELETE" });
    await loadMembers();
  } catch (error) {
    say("members-status", error.message, true);
  }
}

async function invite(event) {
  event.preventDefault();
  const body = { email: $("invite-email").value.trim(), role: $("invite-role").value };
  try {
    await member("account/invitations", { method: "POST", body });
    say("members-status", `${body.email} is invited as ${body.role}, for 7 days.`);
    $("invite-form").reset();
    await loadMembers();
  } catch (error) {
    say("members-status", error.message, true);
  }
}

async function withdraw(invitation) {
  try {
    await member(`account/invitations/${encodeURIComponent(invitation.email)}`, { method: "DELETE" });
    await loadMembers();
  } catch (error) {
    say("members-status", error.message, true);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("member-form").addEventListener("submit", memberSignIn);
  $("sign-up-open").addEventListener("click", openSignUp);
  $("sign-up-form").addEventListener("submit", signUp);
  $("confirm-form").addEventListener("submit", confirmCode);
  $("confirm-resend").addEventListener("click", resendCode);
  $("new-password-form").addEventListener("submit", setNewPassword);
  $("open-form").addEventListener("submit", openAccount);
  $("invitation-accept").addEventListener("click", acceptInvitation);
  $("key-form").addEventListener("submit", createKey);
  $("key-edit-form").addEventListener("submit", saveKey);
  $("key-edit-cancel").addEventListener("click", () => { $("key-edit-form").hidden = true; });
  $("account-period").addEventListener("change", () => loadAccountUsage().catch((e) => say("account-notice", e.message, true)));
  $("account-topup-form").addEventListener("submit", accountTopUp);
  $("invite-form").addEventListener("submit", invite);
  if (tokens()) showAccount();
});
