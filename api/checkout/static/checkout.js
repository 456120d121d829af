// Sluice hosted checkout: finds wallets (EIP-6963, then window.ethereum), asks for the right network,
// sends the unsigned transactions the API builds (approve + pay, permit + pay, native pay) through the
// wallet (EIP-1193), or has the wallet sign a gasless payment (EIP-3009 or Permit2) that the gateway relays, and follows the intent's status over server-sent events (polling as fallback).
// Plain modern JavaScript, no dependencies: the page works offline and under a strict CSP.

const data = JSON.parse(document.getElementById("checkout-data").textContent);
// Intents on Solana: ./solana.js finds Wallet Standard wallets, connects and pays; the rest is shared.
const solana = data.family === "solana" ? await import("./solana.js") : null;
const $ = (id) => document.getElementById(id);
const main = $("checkout");
const PAID = new Set(["succeeded", "requires_capture"]);
const FINAL = new Set(["succeeded", "requires_capture", "canceled", "expired"]);
const STEP_LABELS = {
  reset_approval: "Reset the token allowance",
  approve: `Allow the payment contract to take ${data.amount_display} ${data.asset}`,
  permit: `Sign a permit for ${data.amount_display} ${data.asset} (no gas)`,
  permit2_approval: `Allow Permit2 to move ${data.asset} (once per token; the only step that needs gas)`,
  sign: `Sign the payment of ${data.amount_display} ${data.asset} (no gas)`,
  relay: "The gateway sends it and pays the network fee",
  pay: `Pay ${data.amount_display} ${data.asset}`,
  deposit: `Pay ${data.amount_display} ${data.asset} into escrow`,
};

const state = {
  provider: null,
  walletName: null,
  account: null,
  status: data.status,
  receiptBlock: null,
  confirmations: 0,
  paying: false,
  clockOffset: data.status.server_time * 1000 - Date.now(),
};

class CheckoutError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

// ------------------------------------------------------------------------------------ rendering

function show(id, visible) {
  const el = $(id);
  if (el) el.hidden = !visible;
}

function setStatus(title, detail) {
  $("status-title").textContent = title;
  $("status-detail").textContent = detail || "";
}

/** One of: ready, connected, wrong-network, paying, processing, paid, expired, canceled, rejected,
 * insufficient, error. Buttons follow the state; the status text is set by the caller. */
function setState(name) {
  main.dataset.state = name;
  const hasWallet = state.account !== null;
  const token = !data.native;
  show("connect", name === "ready" && !hasWallet && wallets.size < 2); // several: one button each
  show("wallets", name === "ready" && !hasWallet);
  show("switch", name === "wrong-network");
  show("pay", name === "connected");
  show("pay-permit", name === "connected" && token && !data.permitUnsupported);
  show("pay-gasless", name === "connected" && token && data.gasless && !data.gaslessUnsupported);
  show("retry", ["rejected", "insufficient", "error"].includes(name));
  show("account", hasWallet && !FINAL_STATES.has(name));
  if (FINAL_STATES.has(name)) {
    $("status-title").setAttribute("tabindex", "-1");
    $("status-title").focus();
  }
}
const FINAL_STATES = new Set(["paid", "expired", "canceled"]);

function renderSteps(steps, current, done) {
  const list = $("steps");
  list.replaceChildren();
  steps.forEach((step, i) => {
    const item = document.createElement("li");
    item.textContent = STEP_LABELS[step] || step;
    item.className = i < done ? "done" : i === current ? "active" : "";
    if (i === current) item.setAttribute("aria-current", "step");
    list.append(item);
  });
  list.hidden = steps.length === 0;
}

function shortAddress(address) {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}

// -------------------------------------------------------------------------------------- wallets

const wallets = new Map();

function renderWallets() {
  const box = $("wallets");
  box.replaceChildren();
  if (wallets.size < 2) return;
  for (const { info, provider } of wallets.values()) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "wallet";
    if (info.icon && info.icon.startsWith("data:image/")) {
      const icon = document.createElement("img");
      icon.src = info.icon;
      icon.alt = "";
      icon.width = 24;
      icon.height = 24;
      button.append(icon);
    }
    button.append(document.createTextNode(`Connect ${info.name}`));
    button.addEventListener("click", () => connect(provider, info.name));
    box.append(button);
  }
  show("connect", false);
}

/** EVM networks pay through EIP-1193 wallets here; other families bring their own script
 * (checkout-stacks.js) and reuse this page's state, status and API helpers (`window.sluiceCheckout`). */
const EVM = !data.family || data.family === "evm";

window.addEventListener("eip6963:announceProvider", (event) => {
  if (!EVM) return;
  const { info, provider } = event.detail || {};
  if (!info || !provider || wallets.has(info.uuid)) return;
  wallets.set(info.uuid, { info, provider });
  if (main.dataset.state === "ready" && state.account === null) renderWallets();
});
if (solana) {
  solana.discover((wallet) => {
    const { info, provider } = solana.entry(wallet);
    wallets.set(info.uuid, { info, provider });
    if (main.dataset.state === "ready" && state.account === null) renderWallets();
  });
} else {
  window.dispatchEvent(new Event("eip6963:requestProvider"));
}

function defaultWallet() {
  const first = wallets.values().next();
  if (!first.done) return [first.value.provider, first.value.info.name];
  if (window.ethereum && !solana) return [window.ethereum, "your wallet"];
  return [null, null];
}

async function request(method, params) {
  return state.provider.request(params === undefined ? { method } : { method, params });
}

async function connect(provider, name) {
  if (!provider) {
    setState("ready");
    setStatus(
      "No wallet found in this browser",
      "Install a browser wallet, or open “Pay from your phone” and scan the code with your wallet app.",
    );
    $("qr").open = true;
    return;
  }
  if (solana) return solana.connect(checkoutContext(), provider, name);
  state.provider = provider;
  state.walletName = name;
  try {
    const accounts = await request("eth_requestAccounts");
    if (!accounts || accounts.length === 0) throw new CheckoutError("error", "The wallet shared no account.");
    state.account = accounts[0];
    $("account").textContent = `Paying from ${shortAddress(state.account)} (${name})`;
    if (provider.on) {
      provider.on("chainChanged", () => {
        if (!state.paying && !isFinal()) checkNetwork();
      });
      provider.on("accountsChanged", (list) => {
        if (list && list.length) {
          state.account = list[0];
          $("account").textContent = `Paying from ${shortAddress(state.account)} (${name})`;
        }
      });
    }
    await checkNetwork();
  } catch (error) {
    handleError(error);
  }
}

async function checkNetwork() {
  const chainId = await request("eth_chainId");
  if (BigInt(chainId) !== BigInt(data.network.chainId)) {
    setState("wrong-network");
    setStatus(
      "Wrong network",
      `Your wallet is on chain ${BigInt(chainId)}; this payment is on ${data.network.chainName} ` +
        `(chain ${BigInt(data.network.chainId)}). Switch the network to continue.`,
    );
    $("switch").focus();
    return false;
  }
  readyToPay();
  return true;
}

function readyToPay() {
  setState("connected");
  $("pay").textContent = data.native || solana
    ? `Pay ${data.amount_display} ${data.asset}`
    : `Approve and pay ${data.amount_display} ${data.asset}`;
  setStatus("Ready to pay", `Your wallet will ask you to confirm. Network: ${data.network.chainName}.`);
  $("pay").focus();
}

/** What ./solana.js uses of this page. */
function checkoutContext() {
  return { data, state, $, api, setState, setStatus, renderSteps, readyToPay, handleError, isFinal, shortAddress, CheckoutError };
}

async function switchNetwork() {
  try {
    try {
      await request("wallet_switchEthereumChain", [{ chainId: data.network.chainId }]);
    } catch (error) {
      const code = error && (error.code ?? (error.data && error.data.originalError && error.data.originalError.code));
      if (code !== 4902 || data.network.rpcUrls.length === 0) throw error;
      await request("wallet_addEthereumChain", [data.network]);
      await request("wallet_switchEthereumChain", [{ chainId: data.network.chainId }]);
    }
    await checkNetwork();
  } catch (error) {
    handleError(error);
  }
}

// --------------------------------------------------------------------------------------- paying

async function api(name, body) {
  const response = await fetch(data.endpoints[name], {
    method: body ? "POST" : "GET",
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify({ secret: data.secret, ...body }) : undefined,
    cache: "no-store",
    credentials: "omit",
  });
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = (payload && payload.error) || {};
    const kind =
      error.code === "insufficient_balance"
        ? "insufficient"
        : error.code === "payment_intent_expired"
          ? "expired"
          : error.code === "payment_intent_unexpected_state"
            ? "state"
            : error.code === "unsupported_payment_method"
              ? "unsupported"
              : error.code === "payment_already_relayed"
                ? "state"
                : "error";
    throw new CheckoutError(kind, error.message || `The server answered ${response.status}.`);
  }
  return payload;
}

/** The transaction as eth_sendTransaction takes it; the wallet picks the nonce itself. */
function walletTransaction(tx) {
  const out = { ...tx };
  delete out.nonce;
  return out;
}

async function waitForReceipt(hash) {
  // Quick first looks (local and fast chains mine at once), then once a second.
  for (let attempt = 0; ; attempt += 1) {
    const receipt = await request("eth_getTransactionReceipt", [hash]);
    if (receipt && receipt.blockNumber) return receipt;
    await sleep(attempt < 4 ? 250 : 1000);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function pay(method) {
  if (solana) return solana.pay(checkoutContext());
  if (state.paying) return;
  state.paying = true;
  setState("paying");
  try {
    if (!(await checkNetwork())) return;
    setState("paying");
    method = data.native ? "native" : method;
    setStatus("Preparing the payment…", "");
    let built = await api("transactions", { payer: state.account, method });
    let steps = built.steps;
    let done = 0;
    if (method === "permit") {
      steps = ["permit", ...steps.filter((s) => s !== "permit")];
      if (steps.length === 1) steps.push("pay");
      renderSteps(steps, 0, 0);
      setStatus("Confirm in your wallet", "Sign the permit: it costs no gas.");
      const signature = await request("eth_signTypedData_v4", [state.account, JSON.stringify(built.permit)]);
      done = 1;
      built = await api("transactions", { payer: state.account, method, permit_signature: signature });
    }
    let receipt = null;
    for (const [i, tx] of built.transactions.entries()) {
      const step = built.steps[i];
      renderSteps(steps, done, done);
      setStatus("Confirm in your wallet", `Step ${done + 1} of ${steps.length}: ${STEP_LABELS[step] || step}.`);
      const hash = await request("eth_sendTransaction", [walletTransaction(tx)]);
      setStatus("Waiting for the network…", `Step ${done + 1} of ${steps.length} sent (${shortAddress(hash)}).`);
      receipt = await waitForReceipt(hash);
      if (receipt.status !== "0x1" && receipt.status !== 1) {
        throw new CheckoutError("error", `The ${step} transaction failed on chain (${shortAddress(hash)}).`);
      }
      done += 1;
    }
    renderSteps(steps, -1, steps.length);
    state.receiptBlock = receipt ? BigInt(receipt.blockNumber) : null;
    if (!isFinal()) {
      setState("processing");
      showProcessing();
    }
  } catch (error) {
    handleError(error);
  } finally {
    state.paying = false;
  }
}

/** "Pay without gas": the wallet signs typed data (EIP-3009 or Permit2, the API chooses), the
 * gateway's relayer sends the payment. Permit2 needs the payer's approval once per token first. */
async function payGasless() {
  if (state.paying) return;
  state.paying = true;
  setState("paying");
  try {
    if (!(await checkNetwork())) return;
    setState("paying");
    setStatus("Preparing the payment…", "");
    let built = await api("gasless", { payer: state.account });
    const steps = built.approval_transaction ? ["permit2_approval", "sign", "relay"] : ["sign", "relay"];
    let done = 0;
    if (built.approval_transaction) {
      renderSteps(steps, 0, 0);
      setStatus("Confirm in your wallet", `Step 1 of ${steps.length}: ${STEP_LABELS.permit2_approval}.`);
      const hash = await request("eth_sendTransaction", [walletTransaction(built.approval_transaction)]);
      const receipt = await waitForReceipt(hash);
      if (receipt.status !== "0x1" && receipt.status !== 1) {
        throw new CheckoutError("error", `The approval failed on chain (${shortAddress(hash)}).`);
      }
      done = 1;
      built = await api("gasless", { payer: state.account, method: built.method });
    }
    renderSteps(steps, done, done);
    setStatus("Confirm in your wallet", "Sign the payment: it costs you no gas.");
    const signature = await request("eth_signTypedData_v4", [state.account, JSON.stringify(built.typed_data)]);
    done += 1;
    renderSteps(steps, done, done);
    setStatus("Sending…", STEP_LABELS.relay + ".");
    const relayed = await api("relay", { payer: state.account, method: built.method, signature });
    renderSteps(steps, -1, steps.length);
    const receipt = relayed.status === "succeeded" ? await waitForReceipt(relayed.tx_hash) : null;
    state.receiptBlock = receipt ? BigInt(receipt.blockNumber) : null;
    if (!isFinal()) {
      setState("processing");
      showProcessing();
    }
  } catch (error) {
    if (error instanceof CheckoutError && error.kind === "unsupported") {
      data.gaslessUnsupported = true; // offer the paths with a transaction
      setState("error");
      setStatus("Pay with a transaction for this payment", error.message);
      $("retry").focus();
    } else {
      handleError(error);
    }
  } finally {
    state.paying = false;
  }
}

function handleError(error) {
  const code = error && (error.code ?? (error.data && error.data.code));
  const message = (error && error.message) || String(error);
  if (code === 4001) {
    setState("rejected");
    setStatus("Request rejected in your wallet", "Nothing was paid. Press “Try again” when you are ready.");
  } else if (error instanceof CheckoutError && error.kind === "insufficient") {
    setState("insufficient");
    setStatus("Insufficient balance", message);
  } else if (error instanceof CheckoutError && error.kind === "unsupported") {
    // The token has no permit: offer the approve path only.
    data.permitUnsupported = true;
    setState("error");
    setStatus("Use “Approve and pay” for this token", message);
  } else if (error instanceof CheckoutError && (error.kind === "expired" || error.kind === "state")) {
    refreshStatus();
  } else if (/insufficient funds/i.test(message)) {
    setState("insufficient");
    setStatus("Insufficient balance", `Your wallet cannot cover the payment and its network fee: ${message}`);
  } else {
    setState("error");
    setStatus("Something went wrong", message);
  }
  if (!$("retry").hidden) $("retry").focus();
}

// ------------------------------------------------------------------------------ deposit address

/** Base units as a decimal string with the asset's decimals (exact: BigInt, never a float). */
function formatUnits(units, decimals) {
  const value = BigInt(units);
  const base = 10n ** BigInt(decimals);
  const whole = value / base;
  const fraction = (value % base).toString().padStart(decimals, "0").replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : `${whole}`;
}

function renderDeposit(status) {
  if (!data.deposit || !$("deposit-progress")) return;
  const amount = BigInt(status.amount);
  const received = BigInt(status.amount_received);
  const remaining = received < amount ? amount - received : 0n;
  $("deposit-amount").textContent = formatUnits(remaining > 0n ? remaining : amount, data.decimals);
  let text = "";
  if (received === 0n) text = "Nothing received yet.";
  else if (remaining > 0n)
    text = `Received ${formatUnits(received, data.decimals)} of ${data.amount_display} ${data.asset}, send ${formatUnits(remaining, data.decimals)} more.`;
  else if (received > amount)
    text = `Received ${formatUnits(received, data.decimals)} ${data.asset}: more than the ${data.amount_display} due; the merchant can refund the difference.`;
  else text = `Received ${data.amount_display} ${data.asset}.`;
  $("deposit-progress").textContent = text;
}

function selectTab(name) {
  for (const tab of ["wallet", "deposit"]) {
    const selected = tab === name;
    const button = $(`tab-${tab}`);
    if (!button) continue;
    button.setAttribute("aria-selected", String(selected));
    button.tabIndex = selected ? 0 : -1;
    $(`pay-${tab}`).hidden = !selected;
  }
}

for (const tab of ["wallet", "deposit"]) {
  const button = $(`tab-${tab}`);
  if (button) button.addEventListener("click", () => selectTab(tab));
}
for (const button of document.querySelectorAll("button[data-copy]")) {
  button.addEventListener("click", async () => {
    const text = $(button.dataset.copy).textContent.trim();
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch (_) {
      window.getSelection().selectAllChildren($(button.dataset.copy)); // select it for a manual copy
    }
    setTimeout(() => (button.textContent = "Copy"), 2000);
  });
}

// ---------------------------------------------------------------------------------------- status

function isFinal() {
  return FINAL.has(state.status.status);
}

async function showProcessing() {
  const needed = state.status.confirmations_required || 1;
  let seen = state.confirmations;
  if (state.provider && state.receiptBlock !== null) {
    try {
      const head = BigInt(await request("eth_blockNumber"));
      seen = Number(head - state.receiptBlock + 1n);
      state.confirmations = seen;
    } catch (_) {
      /* the count is a hint; the server's status decides */
    }
  }
  setStatus(
    "Payment sent: confirming",
    seen > 0 ? `${Math.min(seen, needed)} of ${needed} confirmations.` : `Waiting for ${needed} confirmation(s).`,
  );
}

function applyStatus(status) {
  state.status = status;
  renderDeposit(status);
  const name = status.status;
  if (PAID.has(name)) {
    setState("paid");
    setStatus("Paid", `${data.amount_display} ${data.asset} received. Thank you!`);
    $("steps").hidden = true;
  } else if (name === "processing") {
    if (!state.paying) setState("processing");
    showProcessing();
  } else if (name === "canceled") {
    setState("canceled");
    setStatus("Payment canceled", "The merchant canceled this payment; nothing more can be paid here.");
  } else if (name === "expired") {
    setState("expired");
    setStatus("This payment has expired", "Nothing was taken. Go back to the merchant to start again.");
  } else if (name === "requires_payment" && main.dataset.state === "processing" && !state.paying) {
    // A reorganisation took the payment back: let the payer try again.
    state.account ? readyToPay() : setState("ready");
  }
  if (isFinal()) stopUpdates();
}

async function refreshStatus() {
  try {
    applyStatus(await api("status"));
  } catch (_) {
    /* offline for a moment: the next tick tries again */
  }
}

let source = null;
let pollTimer = null;

function startUpdates() {
  if (isFinal()) return;
  if (!window.EventSource) return startPolling();
  const url = `${data.endpoints.events}?secret=${encodeURIComponent(data.secret)}`;
  source = new EventSource(url);
  let failures = 0;
  source.addEventListener("status", (event) => {
    failures = 0;
    applyStatus(JSON.parse(event.data));
  });
  source.addEventListener("error", () => {
    failures += 1;
    if (source.readyState === EventSource.CLOSED || failures >= 3) {
      source.close();
      source = null;
      if (!isFinal()) startPolling();
    }
  });
}

function startPolling() {
  if (pollTimer === null) pollTimer = setInterval(refreshStatus, 2000);
}

function stopUpdates() {
  if (source) source.close();
  source = null;
  if (pollTimer !== null) clearInterval(pollTimer);
  pollTimer = null;
}

// ------------------------------------------------------------------------------------- countdown

function tick() {
  const left = Math.max(0, Math.floor((data.status.expires_at * 1000 - (Date.now() + state.clockOffset)) / 1000));
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = left % 60;
  const pad = (n) => String(n).padStart(2, "0");
  $("countdown").textContent = h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
  $("countdown").setAttribute("datetime", `PT${left}S`);
  if (main.dataset.state === "processing" && state.receiptBlock !== null) showProcessing();
  if (left === 0 && !isFinal() && main.dataset.state !== "processing" && !state.paying) {
    applyStatus({ ...state.status, status: "expired", final: true });
  }
}

// ----------------------------------------------------------------------------------------- start

if (EVM || solana) {
  // Solana shares this page's connect and pay flow (./solana.js does the wallet's part).
  $("connect").addEventListener("click", () => connect(...defaultWallet()));
  $("switch").addEventListener("click", switchNetwork);
  $("pay").addEventListener("click", () => pay("approve"));
  $("pay-permit").addEventListener("click", () => pay("permit"));
  $("pay-gasless").addEventListener("click", payGasless);
  $("retry").addEventListener("click", async () => {
    if (state.account === null) return connect(...defaultWallet());
    if (solana) return readyToPay(); // no network to switch: the transaction names its cluster
    try {
      await checkNetwork();
    } catch (error) {
      handleError(error);
    }
  });
} else {
  data.permitUnsupported = true;
  window.sluiceCheckout = { data, state, setState, setStatus, api, handleError, isFinal, shortAddress, CheckoutError };
}

applyStatus(data.status);
if (!isFinal()) {
  setState(main.dataset.state === "processing" ? "processing" : "ready");
  startUpdates();
}
tick();
setInterval(tick, 1000);
