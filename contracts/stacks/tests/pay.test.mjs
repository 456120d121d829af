// `pay`: an operator-signed intent paid once, for its exact amount, merchant and splits paid in the
// same transaction; every way a tampered or replayed call fails, with the contract's own error.
import { describe, it, expect, beforeEach } from "vitest";
import { Cl } from "@stacks/transactions";
import {
  CONTRACT, ERR, OPERATOR_PUBKEY, LYING_TOKEN_ID, OTHER_KEY, TOKEN_ID, balance, deployer, errCode, expectOk,
  feeRecipient, makeIntent, merchant, mint, partner, pay, payer, printed, readOnly, intentCV, setUpOperator,
  sign, stranger, deposit,
} from "./helpers.mjs";

beforeEach(() => setUpOperator());

describe("pay with STX", () => {
  it("pays the merchant and every split in the same transaction, exactly", () => {
    const intent = makeIntent({
      amount: 1_234_567n,
      splits: [{ recipient: feeRecipient, bps: 250n }, { recipient: partner, bps: 1_000n }],
    });
    const before = [balance(null, payer), balance(null, merchant), balance(null, feeRecipient), balance(null, partner)];
    const { result, events } = pay(intent);
    expectOk(result);
    const fee = (1_234_567n * 250n) / 10_000n; // 30864
    const cut = (1_234_567n * 1_000n) / 10_000n; // 123456
    expect(balance(null, payer)).toBe(before[0] - 1_234_567n);
    expect(balance(null, merchant)).toBe(before[1] + 1_234_567n - fee - cut);
    expect(balance(null, feeRecipient)).toBe(before[2] + fee);
    expect(balance(null, partner)).toBe(before[3] + cut);
    expect(printed(events)).toEqual([{
      event: "paid", id: Buffer.from(intent.id).toString("hex"), nonce: intent.nonce, payer, merchant,
      token: null, amount: 1_234_567n, "merchant-amount": 1_234_567n - fee - cut, "fee-amounts": [fee, cut],
    }]);
    expect(readOnly("is-nonce-used", [Cl.uint(intent.nonce)])).toBeBool(true);
    expect(readOnly("is-id-used", [Cl.buffer(intent.id)])).toBeBool(true);
  });

  it("skips zero shares (a 1 micro-STX payment with a 2.5% split pays the merchant only)", () => {
    const intent = makeIntent({ amount: 1n, splits: [{ recipient: feeRecipient, bps: 250n }] });
    const { result, events } = pay(intent);
    expectOk(result);
    expect(events.filter((e) => e.event === "stx_transfer_event")).toHaveLength(1);
    expect(printed(events)[0]["fee-amounts"]).toEqual([0n]);
  });

  it("accepts a payer-bound intent from that payer", () => {
    expectOk(pay(makeIntent({ payer })).result);
  });
});

describe("pay with a SIP-010 token", () => {
  it("moves the token from the payer to merchant and splits", () => {
    mint(TOKEN_ID, 10_000_000n, payer);
    const intent = makeIntent({ token: TOKEN_ID, amount: 2_500_000n, splits: [{ recipient: feeRecipient, bps: 100n }] });
    const { result, events } = pay(intent);
    expectOk(result);
    expect(balance(TOKEN_ID, payer)).toBe(7_500_000n);
    expect(balance(TOKEN_ID, merchant)).toBe(2_475_000n);
    expect(balance(TOKEN_ID, feeRecipient)).toBe(25_000n);
    expect(printed(events)[0].token).toBe(TOKEN_ID);
  });

  it("refuses a token that answers ok to transfer without moving anything", () => {
    mint(LYING_TOKEN_ID, 10_000_000n, payer);
    const intent = makeIntent({ token: LYING_TOKEN_ID });
    expect(errCode(pay(intent).result)).toBe(ERR.TRANSFER_SHORTFALL);
    expect(balance(LYING_TOKEN_ID, merchant)).toBe(0n);
    // Nothing was recorded: the nonce is still usable once the token behaves.
    expect(readOnly("is-nonce-used", [Cl.uint(intent.nonce)])).toBeBool(false);
  });

  it("fails with the contract's error when the payer lacks the funds", () => {
    const intent = makeIntent({ token: TOKEN_ID });
    expect(errCode(pay(intent).result)).toBe(ERR.TRANSFER_FAILED);
  });
});

describe("pay refuses", () => {
  it("a lower amount than signed", () => {
    const intent = makeIntent();
    const signature = sign(intent);
    expect(errCode(pay({ ...intent, amount: intent.amount - 1n }, { signature }).result)).toBe(ERR.WRONG_SIGNER);
  });

  it("another merchant than signed", () => {
    const intent = makeIntent();
    const signature = sign(intent);
    expect(errCode(pay({ ...intent, merchant: stranger }, { signature }).result)).toBe(ERR.WRONG_SIGNER);
  });

  it("another split than signed", () => {
    const intent = makeIntent({ splits: [{ recipient: feeRecipient, bps: 100n }] });
    const signature = sign(intent);
    const tampered = { ...intent, splits: [{ recipient: stranger, bps: 100n }] };
    expect(errCode(pay(tampered, { signature }).result)).toBe(ERR.WRONG_SIGNER);
  });

  it("another token than signed in the intent", () => {
    mint(TOKEN_ID, 10_000_000n, payer);
    const intent = makeIntent({ token: TOKEN_ID });
    const signature = sign(intent);
    expect(errCode(pay({ ...intent, token: LYING_TOKEN_ID }, { signature, token: LYING_TOKEN_ID }).result))
      .toBe(ERR.WRONG_SIGNER);
  });

  it("another token contract than the intent's as the trait argument", () => {
    mint(LYING_TOKEN_ID, 10_000_000n, payer);
    expect(errCode(pay(makeIntent({ token: TOKEN_ID }), { token: LYING_TOKEN_ID }).result)).toBe(ERR.WRONG_TOKEN);
    expect(errCode(pay(makeIntent({ token: TOKEN_ID }), { token: null }).result)).toBe(ERR.WRONG_TOKEN);
    expect(errCode(pay(makeIntent(), { token: TOKEN_ID }).result)).toBe(ERR.WRONG_TOKEN);
  });

  it("a replayed nonce", () => {
    const intent = makeIntent();
    expectOk(pay(intent).result);
    expect(errCode(pay(intent).result)).toBe(ERR.NONCE_USED);
    const sameNonce = makeIntent({ nonce: intent.nonce });
    expect(errCode(pay(sameNonce).result)).toBe(ERR.NONCE_USED);
  });

  it("an intent id already paid, under a new nonce", () => {
    const intent = makeIntent();
    expectOk(pay(intent).result);
    expect(errCode(pay(makeIntent({ id: intent.id })).result)).toBe(ERR.INTENT_USED);
  });

  it("an expired intent", () => {
    const intent = makeIntent({ deadline: BigInt(simnet.getBlockTime()) + 600n });
    simnet.mineEmptyBlocks(3); // 600 s per block on simnet
    expect(errCode(pay(intent).result)).toBe(ERR.EXPIRED);
  });

  it("a signature by another key", () => {
    const intent = makeIntent();
    expect(errCode(pay(intent, { signature: sign(intent, { key: OTHER_KEY }) }).result)).toBe(ERR.WRONG_SIGNER);
  });

  it("a malformed signature", () => {
    const intent = makeIntent();
    const bad = "00".repeat(64) + "07"; // recovery id out of range
    expect(errCode(pay(intent, { signature: bad }).result)).toBe(ERR.INVALID_SIGNATURE);
  });

  it("another payer than the intent's", () => {
    expect(errCode(pay(makeIntent({ payer: stranger })).result)).toBe(ERR.WRONG_PAYER);
  });

  it("a zero amount", () => {
    expect(errCode(pay(makeIntent({ amount: 0n })).result)).toBe(ERR.ZERO_AMOUNT);
  });

  it("splits above the fee bound", () => {
    const splits = [{ recipient: feeRecipient, bps: 3_000n }, { recipient: partner, bps: 2_001n }];
    expect(errCode(pay(makeIntent({ splits })).result)).toBe(ERR.FEE_TOO_HIGH);
    expect(readOnly("get-max-fee-bps")).toBeUint(5_000);
  });

  it("an escrow intent (reclaim time or partial deposits)", () => {
    expect(errCode(pay(makeIntent({ reclaimAfter: 1n })).result)).toBe(ERR.ESCROW_ONLY);
    expect(errCode(pay(makeIntent({ allowPartial: true })).result)).toBe(ERR.ESCROW_ONLY);
  });

  it("any payment while paused", () => {
    expectOk(simnet.callPublicFn(CONTRACT, "pause", [], deployer).result);
    expect(errCode(pay(makeIntent()).result)).toBe(ERR.PAUSED);
  });

  it("an intent whose nonce was invalidated (cancelled)", () => {
    const intent = makeIntent();
    expectOk(simnet.callPublicFn(CONTRACT, "invalidate-nonce", [Cl.uint(intent.nonce)], deployer).result);
    expect(errCode(pay(intent).result)).toBe(ERR.NONCE_USED);
  });

  it("an intent already deposited into escrow", () => {
    const escrow = makeIntent({ reclaimAfter: BigInt(simnet.getBlockTime()) + 7200n });
    expectOk(deposit(escrow).result);
    expect(errCode(pay(makeIntent({ id: escrow.id })).result)).toBe(ERR.INTENT_USED);
  });
});

describe("replay across contracts and chains", () => {
  it("a signature for another chain id is refused", () => {
    const intent = makeIntent();
    expect(errCode(pay(intent, { signature: sign(intent, { domain: { chainId: 1n } }) }).result)).toBe(ERR.WRONG_SIGNER);
  });

  it("a signature for another deployment of the same contract is refused there", () => {
    const copy = "sluice-payments-copy";
    const source = simnet.getContractSource(CONTRACT);
    simnet.deployContract(copy, source, { clarityVersion: 4 }, deployer);
    expectOk(simnet.callPublicFn(copy, "rotate-signer", [Cl.bufferFromHex(OPERATOR_PUBKEY), Cl.uint(0)], deployer).result);
    const intent = makeIntent();
    const signature = sign(intent); // domain: the original contract
    expect(errCode(pay(intent, { signature, contract: copy }).result)).toBe(ERR.WRONG_SIGNER);
    expectOk(pay(intent, { signature: sign(intent, { domain: { contract: `${deployer}.${copy}` } }), contract: copy }).result);
    // The original accepts its own signature: nonces and ids are per contract.
    expectOk(pay(intent, { signature }).result);
  });

  it("the contract's intent-hash is the SIP-018 hash of domain and intent", () => {
    const intent = makeIntent({ token: TOKEN_ID, payer, splits: [{ recipient: feeRecipient, bps: 7n }] });
    const hash = readOnly("intent-hash", [intentCV(intent)]);
    expect(hash.value).toMatch(/^[0-9a-f]{64}$/);
    // A signature over exactly that hash verifies: pay succeeds.
    mint(TOKEN_ID, 10_000_000n, payer);
    expectOk(pay(intent).result);
  });
});
