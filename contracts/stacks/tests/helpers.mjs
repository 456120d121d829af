// Shared fixtures of the sluice-payments simnet tests: accounts, the operator key, intents as
// Clarity values, SIP-018 signing (with @stacks/transactions, the reference implementation), and
// small wrappers around the contract's calls. `simnet` is the global the clarinet environment sets.
import { Cl, ClarityType, cvToValue, privateKeyToPublic, getAddressFromPrivateKey, signStructuredData } from "@stacks/transactions";
import { randomBytes } from "node:crypto";

export const accounts = simnet.getAccounts();
export const deployer = accounts.get("deployer");
export const payer = accounts.get("wallet_1");
export const merchant = accounts.get("wallet_2");
export const feeRecipient = accounts.get("wallet_3");
export const partner = accounts.get("wallet_4");
export const stranger = accounts.get("wallet_5");

export const CONTRACT = "sluice-payments";
export const CONTRACT_ID = `${deployer}.${CONTRACT}`;
export const TOKEN_ID = `${deployer}.test-token`;
export const LYING_TOKEN_ID = `${deployer}.lying-token`;
export const THIEF_TOKEN_ID = `${deployer}.thief-token`;
/** Simnet is a testnet chain: chain id 0x80000000. */
export const CHAIN_ID = 2147483648n;

// Fixed test keys (compressed: the trailing 01), never used outside tests.
export const OPERATOR_KEY = "e09cd4fc77d4de4221679746e81284e8657ffc73b570a0367024e21a4fcf632d01";
export const OTHER_KEY = "fb4c4763c0b512e22683b0072c8a7a8d893c92b41b5454e8bd24664b0c21a5af01";
export const OPERATOR_PUBKEY = privateKeyToPublic(OPERATOR_KEY);
export const OTHER_PUBKEY = privateKeyToPublic(OTHER_KEY);
export const OPERATOR = getAddressFromPrivateKey(OPERATOR_KEY, "testnet");

export const ERR = {
  NOT_OWNER: 1000, NOT_PENDING_OWNER: 1001, PAUSED: 1002, NOT_PAUSED: 1003, INVALID_SIGNATURE: 1004,
  WRONG_SIGNER: 1005, EXPIRED: 1006, NONCE_USED: 1007, INTENT_USED: 1008, WRONG_PAYER: 1009,
  WRONG_TOKEN: 1010, ZERO_AMOUNT: 1011, FEE_TOO_HIGH: 1012, ESCROW_ONLY: 1013, INVALID_RECLAIM_TIME: 1014,
  WRONG_AMOUNT: 1015, TRANSFER_SHORTFALL: 1016, TRANSFER_FAILED: 1017, ESCROW_NOT_OPEN: 1018,
  INSUFFICIENT_BALANCE: 1019, NOT_OPERATOR_OR_MERCHANT: 1020, NOT_PAYER: 1021, CAPTURE_WINDOW_CLOSED: 1022,
  RECLAIM_TOO_EARLY: 1023, GRACE_TOO_LONG: 1024, NOT_OPERATOR: 1025, INVALID_KEY: 1026, INTENT_MISMATCH: 1027,
  NO_SIGNER: 1028,
};

let nonceCounter = 0n;

/** Time of the latest block; the next transaction's block is later. */
export const now = () => BigInt(simnet.getBlockTime());

/** A fresh intent with defaults a test overrides. */
export function makeIntent(overrides = {}) {
  nonceCounter += 1n;
  return {
    id: new Uint8Array(randomBytes(32)),
    nonce: nonceCounter,
    token: null,
    amount: 1_000_000n,
    payer: null,
    deadline: now() + 3600n,
    merchant,
    splits: [],
    reclaimAfter: 0n,
    allowPartial: false,
    ...overrides,
  };
}

export const escrowIntent = (overrides = {}) =>
  makeIntent({ reclaimAfter: now() + 7200n, ...overrides });

export function intentCV(intent) {
  const opt = (p) => (p === null ? Cl.none() : Cl.some(Cl.principal(p)));
  return Cl.tuple({
    id: Cl.buffer(intent.id),
    nonce: Cl.uint(intent.nonce),
    token: opt(intent.token),
    amount: Cl.uint(intent.amount),
    payer: opt(intent.payer),
    deadline: Cl.uint(intent.deadline),
    merchant: Cl.principal(intent.merchant),
    splits: Cl.list(intent.splits.map((s) => Cl.tuple({ recipient: Cl.principal(s.recipient), bps: Cl.uint(s.bps) }))),
    "reclaim-after": Cl.uint(intent.reclaimAfter),
    "allow-partial": Cl.bool(intent.allowPartial),
  });
}

export function domainCV({ chainId = CHAIN_ID, contract = CONTRACT_ID, name = "sluice-payments", version = "1" } = {}) {
  return Cl.tuple({
    name: Cl.stringAscii(name),
    version: Cl.stringAscii(version),
    "chain-id": Cl.uint(chainId),
    "verifying-contract": Cl.principal(contract),
  });
}

/** The operator's SIP-018 signature (RSV, 65 bytes) of an intent. */
export function sign(intent, { key = OPERATOR_KEY, domain = {} } = {}) {
  return signStructuredData({ message: intentCV(intent), domain: domainCV(domain), privateKey: key });
}

export const tokenArg = (token) => (token === null ? Cl.none() : Cl.some(Cl.principal(token)));

/** Registers the operator key (the deployment does this right after deploying). */
export function setUpOperator() {
  const { result } = simnet.callPublicFn(CONTRACT, "rotate-signer", [Cl.bufferFromHex(OPERATOR_PUBKEY), Cl.uint(0)], deployer);
  expectOk(result);
}

export function pay(intent, { signature = sign(intent), token = intent.token, sender = payer, contract = CONTRACT } = {}) {
  return simnet.callPublicFn(contract, "pay", [intentCV(intent), Cl.bufferFromHex(signature), tokenArg(token)], sender);
}

export function deposit(intent, amount = intent.amount, { signature = sign(intent), token = intent.token, sender = payer } = {}) {
  return simnet.callPublicFn(
    CONTRACT, "deposit", [intentCV(intent), Cl.bufferFromHex(signature), tokenArg(token), Cl.uint(amount)], sender,
  );
}

export const capture = (intent, amount, sender = merchant, token = intent.token) =>
  simnet.callPublicFn(CONTRACT, "capture", [Cl.buffer(intent.id), tokenArg(token), Cl.uint(amount)], sender);
export const refund = (intent, amount, sender = merchant, token = intent.token) =>
  simnet.callPublicFn(CONTRACT, "refund", [Cl.buffer(intent.id), tokenArg(token), Cl.uint(amount)], sender);
export const voidEscrow = (intent, sender = merchant, token = intent.token) =>
  simnet.callPublicFn(CONTRACT, "void", [Cl.buffer(intent.id), tokenArg(token)], sender);
export const reclaim = (intent, sender = payer, token = intent.token) =>
  simnet.callPublicFn(CONTRACT, "reclaim", [Cl.buffer(intent.id), tokenArg(token)], sender);

export function mint(token, amount, recipient) {
  const name = token.split(".")[1];
  expectOk(simnet.callPublicFn(name, "mint", [Cl.uint(amount), Cl.principal(recipient)], deployer).result);
}

/** Balance in base units of `who`: micro-STX for token null, else the SIP-010 token's. */
export function balance(token, who) {
  const assets = simnet.getAssetsMap();
  const key = token === null ? "STX" : `.${token.split(".")[1]}.${token.split(".")[1]}`;
  return assets.get(key)?.get(who) ?? 0n;
}

export function expectOk(result) {
  if (result.type !== ClarityType.ResponseOk) throw new Error(`expected ok, got ${Cl.prettyPrint(result)}`);
  return result.value;
}

export function errCode(result) {
  if (result.type !== ClarityType.ResponseErr) throw new Error(`expected err, got ${Cl.prettyPrint(result)}`);
  return Number(result.value.value);
}

/** The contract's printed event tuples of a call, as plain JS values. */
export function printed(events) {
  return events
    .filter((e) => e.event === "print_event" && e.data.contract_identifier === CONTRACT_ID)
    .map((e) => plain(e.data.value));
}

/** A Clarity value as plain JS: uint -> bigint, buff -> hex, principal -> string, none -> null. */
export function plain(cv) {
  switch (cv.type) {
    case ClarityType.UInt: case ClarityType.Int: return BigInt(cv.value);
    case ClarityType.Buffer: return cv.value;
    case ClarityType.BoolTrue: return true;
    case ClarityType.BoolFalse: return false;
    case ClarityType.PrincipalStandard: case ClarityType.PrincipalContract: return cv.value;
    case ClarityType.OptionalNone: return null;
    case ClarityType.OptionalSome: return plain(cv.value);
    case ClarityType.List: return cv.value.map(plain);
    case ClarityType.Tuple: return Object.fromEntries(Object.entries(cv.value).map(([k, v]) => [k, plain(v)]));
    case ClarityType.StringASCII: case ClarityType.StringUTF8: return cv.value;
    default: return cvToValue(cv);
  }
}

export const readOnly = (method, args = [], contract = CONTRACT) =>
  simnet.callReadOnlyFn(contract, method, args, deployer).result;
