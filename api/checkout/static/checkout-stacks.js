// Sluice hosted checkout, Stacks intents: pays from an injected Stacks wallet (Leather's
// `window.LeatherProvider`, Xverse's `window.XverseProviders.StacksProvider`, or a WBIP-004
// `window.StacksProvider`) with the request both take, `request("stx_callContract", params)`.
// The API builds the call (contract, function, Clarity-encoded arguments, deny-mode post-conditions
// that let the payer send exactly the amount); the wallet signs and broadcasts it and answers with
// the transaction id; the page's status stream (checkout.js) then follows the intent to `succeeded`.
// Loaded after checkout.js, which hands over its state and helpers as `window.sluiceCheckout`.

const page = window.sluiceCheckout;

function stacksProvider() {
  return (
    window.LeatherProvider ||
    (window.XverseProviders && window.XverseProviders.StacksProvider) ||
    window.StacksProvider ||
    null
  );
}

/** A wallet request; the answer's `result` (JSON-RPC style) or the answer itself. Wallets reject with
 * `{ error: { code, message } }` objects: they become Errors carrying the code (4001: refused). */
async function walletRequest(provider, method, params) {
  let reply;
  try {
    reply = await provider.request(method, params);
  } catch (thrown) {
    const error = (thrown && thrown.error) || thrown || {};
    const wrapped = new Error(error.message || "The wallet refused the request.");
    wrapped.code = error.code;
    throw wrapped;
  }
  if (reply && reply.error) {
    const wrapped = new Error(reply.error.message || "The wallet refused the request.");
    wrapped.code = reply.error.code;
    throw wrapped;
  }
  return reply && reply.result !== undefined ? reply.result : reply;
}

/** The Stacks address among a `getAddresses` / `stx_getAddresses` answer. */
function stacksAddress(result) {
  const list = (result && result.addresses) || [];
  const entry = list.find((a) => /^S[PTMN]/.test((a && a.address) || "") && (!a.symbol || a.symbol === "STX"));
  return entry ? entry.address : null;
}

function chainOf(address) {
  return /^S[PM]/.test(address) ? "mainnet" : "testnet";
}

const wallet = { provider: null };

async function connect() {
  const { data, state, setState, setStatus, handleError, shortAddress, CheckoutError } = page;
  const provider = stacksProvider();
  if (!provider) {
    setState("ready");
    setStatus(
      "No Stacks wallet found in this browser",
      "Install Leather or Xverse, or open “Pay from your phone” and scan the code with your wallet app.",
    );
    document.getElementById("qr").open = true;
    return;
  }
  wallet.provider = provider;
  try {
    let result;
    try {
      result = await walletRequest(provider, "getAddresses");
    } catch (error) {
      if (error.code === 4001) throw error;
      result = await walletRequest(provider, "stx_getAddresses");
    }
    const address = stacksAddress(result);
    if (!address) throw new CheckoutError("error", "The wallet shared no Stacks address.");
    state.account = address;
    document.getElementById("account").textContent = `Paying from ${shortAddress(address)} (Stacks wallet)`;
    if (chainOf(address) !== data.stacks.chain) {
      setState("error");
      setStatus(
        "Wrong network",
        `Your wallet is on Stacks ${chainOf(address)}; this payment is on ${data.network.chainName} ` +
          `(Stacks ${data.stacks.chain}). Switch the wallet's network, then press “Try again”.`,
      );
      state.account = null;
      return;
    }
    readyToPay();
  } catch (error) {
    handleError(error);
  }
}

function readyToPay() {
  const { data, setState, setStatus } = page;
  setState("connected");
  const button = document.getElementById("pay");
  button.textContent = `Pay ${data.amount_display} ${data.asset}`;
  setStatus(
    "Ready to pay",
    `Your wallet will show the contract call and allow exactly ${data.amount_display} ${data.asset} to leave it.`,
  );
  button.focus();
}

async function pay() {
  const { data, state, setState, setStatus, api, handleError, isFinal, shortAddress } = page;
  if (state.paying || state.account === null) return;
  state.paying = true;
  setState("paying");
  try {
    setStatus("Preparing the payment…", "");
    const built = await api("transactions", { payer: state.account });
    const request = built.transactions[0].wallet_request;
    setStatus("Confirm in your wallet", `Pay ${data.amount_display} ${data.asset} to the payment contract.`);
    const result = await walletRequest(wallet.provider, request.method, request.params);
    const txid = (result && (result.txid || result.txId)) || "";
    if (!isFinal()) {
      setState("processing");
      setStatus("Payment sent: confirming", txid ? `Transaction ${shortAddress(txid)}.` : "");
    }
  } catch (error) {
    handleError(error);
  } finally {
    state.paying = false;
  }
}

if (page && page.data.family === "stacks") {
  document.getElementById("connect").addEventListener("click", connect);
  document.getElementById("pay").addEventListener("click", pay);
  document.getElementById("retry").addEventListener("click", () =>
    page.state.account === null ? connect() : readyToPay(),
  );
}
