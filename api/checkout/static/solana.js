// Sluice hosted checkout, Solana: finds wallets that follow the Wallet Standard (the protocol Phantom,
// Solflare, Backpack… register with: "wallet-standard:register-wallet" / "wallet-standard:app-ready"),
// connects with `standard:connect`, and has the wallet sign and send the transaction the API built
// (`solana:signAndSendTransaction`, raw bytes: no Solana library needed). checkout.js loads this module
// for intents on Solana networks and keeps everything else (status stream, countdown, errors).
// Mobile wallets pay through the Solana Pay QR code (transaction request) instead.

const CONNECT = "standard:connect";
const SIGN_AND_SEND = "solana:signAndSendTransaction";
const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/** Calls `onWallet(wallet)` for every Solana wallet registered now or later. */
export function discover(onWallet) {
  const seen = new Set();
  const register = (...wallets) => {
    for (const wallet of wallets) {
      const features = (wallet && wallet.features) || {};
      if (features[CONNECT] && features[SIGN_AND_SEND] && !seen.has(wallet)) {
        seen.add(wallet);
        onWallet(wallet);
      }
    }
    return () => {};
  };
  const api = Object.freeze({ register });
  window.addEventListener("wallet-standard:register-wallet", (event) => {
    if (typeof event.detail === "function") event.detail(api);
  });
  window.dispatchEvent(new CustomEvent("wallet-standard:app-ready", { detail: api }));
}

/** The wallet as checkout.js lists wallets ({info, provider}). */
export function entry(wallet) {
  return { info: { uuid: `solana:${wallet.name}`, name: wallet.name, icon: wallet.icon }, provider: wallet };
}

export async function connect(ctx, wallet, name) {
  const { state, data, $ } = ctx;
  try {
    const { accounts } = await wallet.features[CONNECT].connect();
    if (!accounts || accounts.length === 0) throw new ctx.CheckoutError("error", "The wallet shared no account.");
    const account = accounts.find((a) => !a.chains || a.chains.includes(data.solana.chain)) || accounts[0];
    state.provider = wallet;
    state.walletName = name;
    state.solanaAccount = account;
    state.account = account.address;
    $("account").textContent = `Paying from ${ctx.shortAddress(state.account)} (${name})`;
    if (Array.isArray(wallet.chains) && !wallet.chains.includes(data.solana.chain)) {
      ctx.setState("error");
      ctx.setStatus(
        "This wallet cannot pay on this network",
        `${name} does not offer ${data.solana.chain}. Use another wallet, or scan the Solana Pay code.`,
      );
      return;
    }
    ctx.readyToPay();
  } catch (error) {
    ctx.handleError(error);
  }
}

export async function pay(ctx) {
  const { state, data } = ctx;
  if (state.paying) return;
  state.paying = true;
  ctx.setState("paying");
  try {
    ctx.setStatus("Preparing the payment…", "");
    const built = await ctx.api("transactions", { payer: state.account });
    ctx.renderSteps(["pay"], 0, 0);
    ctx.setStatus("Confirm in your wallet", `Pay ${data.amount_display} ${data.asset} in one transaction.`);
    const [result] = await state.provider.features[SIGN_AND_SEND].signAndSendTransaction({
      account: state.solanaAccount,
      transaction: fromBase64(built.transactions[0].transaction),
      chain: data.solana.chain,
      options: { preflightCommitment: "confirmed" },
    });
    const signature = toBase58(result.signature);
    ctx.renderSteps(["pay"], -1, 1);
    if (!ctx.isFinal()) {
      ctx.setState("processing");
      ctx.setStatus("Payment sent: confirming", `Transaction ${ctx.shortAddress(signature)} is on its way to finality.`);
    }
  } catch (error) {
    ctx.handleError(error);
  } finally {
    state.paying = false;
  }
}

function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

export function toBase58(bytes) {
  const digits = []; // little-endian base-58 digits
  for (const byte of bytes) {
    let carry = byte;
    for (let i = 0; i < digits.length; i += 1) {
      carry += digits[i] * 256;
      digits[i] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = Math.floor(carry / 58);
    }
  }
  let out = "";
  for (const byte of bytes) {
    if (byte !== 0) break;
    out += "1";
  }
  for (let i = digits.length - 1; i >= 0; i -= 1) out += BASE58[digits[i]];
  return out;
}
