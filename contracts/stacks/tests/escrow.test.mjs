// The escrow: deposit (exact or partial), capture with splits, refund, void, reclaim after the
// reclaim time; pause never blocks money going back to the payer; a token that tries to take more
// than its own payout is stopped by the contract's as-contract? allowances.
import { describe, it, expect, beforeEach } from "vitest";
import { Cl } from "@stacks/transactions";
import {
  CONTRACT, CONTRACT_ID, ERR, OPERATOR, THIEF_TOKEN_ID, TOKEN_ID, LYING_TOKEN_ID, balance, capture, deployer,
  deposit, errCode, escrowIntent, expectOk, feeRecipient, makeIntent, merchant, mint, now, payer, plain,
  printed, readOnly, reclaim, refund, setUpOperator, sign, stranger, voidEscrow,
} from "./helpers.mjs";

beforeEach(() => setUpOperator());

const escrowOf = (intent) => plain(readOnly("get-escrow", [Cl.buffer(intent.id)]));
const capturable = (intent) => plain(readOnly("capturable", [Cl.buffer(intent.id)]));
const hex = (intent) => Buffer.from(intent.id).toString("hex");

describe("deposit", () => {
  it("locks the exact amount in the contract and opens the escrow", () => {
    const intent = escrowIntent({ amount: 5_000_000n });
    const before = balance(null, payer);
    const { result, events } = deposit(intent);
    expectOk(result);
    expect(balance(null, payer)).toBe(before - 5_000_000n);
    expect(balance(null, CONTRACT_ID)).toBe(5_000_000n);
    expect(printed(events)).toEqual([{ event: "deposited", id: hex(intent), payer, token: null, amount: 5_000_000n, total: 5_000_000n }]);
    expect(escrowOf(intent)).toMatchObject({ payer, merchant, deposited: 5_000_000n, status: 1n });
    expect(capturable(intent)).toBe(5_000_000n);
  });

  it("adds partial deposits up to the amount, from the same payer, with the same intent", () => {
    const intent = escrowIntent({ amount: 300n, allowPartial: true });
    expectOk(deposit(intent, 100n).result);
    const second = deposit(intent, 150n, { signature: "00".repeat(65) }); // not checked again
    expectOk(second.result);
    expect(printed(second.events)[0].total).toBe(250n);
    expect(errCode(deposit(intent, 51n).result)).toBe(ERR.WRONG_AMOUNT);
    expect(errCode(deposit(intent, 50n, { sender: stranger }).result)).toBe(ERR.NOT_PAYER);
    expect(errCode(deposit({ ...intent, amount: 400n }, 50n).result)).toBe(ERR.INTENT_MISMATCH);
    expect(errCode(deposit(intent, 50n, { token: TOKEN_ID }).result)).toBe(ERR.WRONG_TOKEN);
    expectOk(deposit(intent, 50n).result);
    expect(escrowOf(intent).deposited).toBe(300n);
  });

  it("refuses a later deposit after the deadline or once closed", () => {
    const intent = escrowIntent({ amount: 300n, allowPartial: true, deadline: now() + 600n });
    expectOk(deposit(intent, 100n).result);
    simnet.mineEmptyBlocks(2);
    expect(errCode(deposit(intent, 100n).result)).toBe(ERR.EXPIRED);
    const other = escrowIntent({ amount: 300n, allowPartial: true });
    expectOk(deposit(other, 100n).result);
    expectOk(voidEscrow(other).result);
    expect(errCode(deposit(other, 100n).result)).toBe(ERR.ESCROW_NOT_OPEN);
  });

  it("refuses a wrong amount, a zero amount, a bad reclaim time, a bad signature, a replay, a pause", () => {
    const intent = escrowIntent({ amount: 1_000n });
    expect(errCode(deposit(intent, 999n).result)).toBe(ERR.WRONG_AMOUNT);
    expect(errCode(deposit(intent, 0n).result)).toBe(ERR.ZERO_AMOUNT);
    const early = escrowIntent({ reclaimAfter: now() + 10n, deadline: now() + 3600n });
    expect(errCode(deposit(early).result)).toBe(ERR.INVALID_RECLAIM_TIME);
    const noReclaim = makeIntent();
    expect(errCode(deposit(noReclaim).result)).toBe(ERR.INVALID_RECLAIM_TIME);
    expect(errCode(deposit(intent, 1_000n, { signature: sign(escrowIntent()) }).result)).toBe(ERR.WRONG_SIGNER);
    expectOk(deposit(intent).result);
    expect(errCode(deposit(escrowIntent({ nonce: intent.nonce })).result)).toBe(ERR.NONCE_USED);
    expect(errCode(deposit(escrowIntent({ id: intent.id })).result)).toBe(ERR.INTENT_MISMATCH);
    expectOk(simnet.callPublicFn(CONTRACT, "pause", [], deployer).result);
    expect(errCode(deposit(escrowIntent()).result)).toBe(ERR.PAUSED);
  });

  it("checks the contract's balance delta for tokens", () => {
    mint(LYING_TOKEN_ID, 1_000_000n, payer);
    expect(errCode(deposit(escrowIntent({ token: LYING_TOKEN_ID })).result)).toBe(ERR.TRANSFER_SHORTFALL);
  });
});

describe("capture", () => {
  it("pays merchant and splits out of the escrow, partially and then the rest", () => {
    mint(TOKEN_ID, 10_000n, payer);
    const intent = escrowIntent({ token: TOKEN_ID, amount: 10_000n, splits: [{ recipient: feeRecipient, bps: 333n }] });
    expectOk(deposit(intent).result);
    const first = capture(intent, 4_000n);
    expectOk(first.result);
    expect(printed(first.events)).toEqual([{
      event: "captured", id: hex(intent), merchant, token: TOKEN_ID, amount: 4_000n, "merchant-amount": 3_867n,
      "fee-amounts": [133n], total: 4_000n,
    }]);
    expect(balance(TOKEN_ID, merchant)).toBe(3_867n);
    expect(balance(TOKEN_ID, feeRecipient)).toBe(133n);
    expect(capturable(intent)).toBe(6_000n);
    expect(errCode(capture(intent, 6_001n).result)).toBe(ERR.INSUFFICIENT_BALANCE);
    expectOk(capture(intent, 6_000n).result);
    expect(balance(TOKEN_ID, CONTRACT_ID)).toBe(0n);
    expect(balance(TOKEN_ID, merchant) + balance(TOKEN_ID, feeRecipient)).toBe(10_000n);
  });

  it("by the operator too, not by anyone else", () => {
    const intent = escrowIntent();
    expectOk(deposit(intent).result);
    expect(errCode(capture(intent, 1n, stranger).result)).toBe(ERR.NOT_OPERATOR_OR_MERCHANT);
    simnet.transferSTX(1_000_000, OPERATOR, deployer);
    expectOk(capture(intent, 1n, OPERATOR).result);
  });

  it("not at or after the reclaim time, not while paused, not with another token, not zero", () => {
    const intent = escrowIntent({ deadline: now() + 600n, reclaimAfter: now() + 1_200n });
    expectOk(deposit(intent).result);
    expect(errCode(capture(intent, 0n).result)).toBe(ERR.ZERO_AMOUNT);
    expect(errCode(capture(intent, 1n, merchant, TOKEN_ID).result)).toBe(ERR.WRONG_TOKEN);
    expectOk(simnet.callPublicFn(CONTRACT, "pause", [], deployer).result);
    expect(errCode(capture(intent, 1n).result)).toBe(ERR.PAUSED);
    expectOk(simnet.callPublicFn(CONTRACT, "unpause", [], deployer).result);
    simnet.mineEmptyBlocks(2);
    expect(errCode(capture(intent, 1n).result)).toBe(ERR.CAPTURE_WINDOW_CLOSED);
  });

  it("of an unknown escrow fails", () => {
    expect(errCode(capture(escrowIntent(), 1n).result)).toBe(ERR.ESCROW_NOT_OPEN);
  });
});

describe("refund, void and reclaim give the payer's money back, also while paused", () => {
  it("refund sends part back and keeps the escrow open", () => {
    const intent = escrowIntent({ amount: 1_000n });
    expectOk(deposit(intent).result);
    expectOk(simnet.callPublicFn(CONTRACT, "pause", [], deployer).result);
    const before = balance(null, payer);
    const { result, events } = refund(intent, 400n);
    expectOk(result);
    expect(balance(null, payer)).toBe(before + 400n);
    expect(printed(events)).toEqual([{ event: "refunded", id: hex(intent), payer, token: null, amount: 400n, total: 400n }]);
    expect(errCode(refund(intent, 601n).result)).toBe(ERR.INSUFFICIENT_BALANCE);
    expect(errCode(refund(intent, 1n, stranger).result)).toBe(ERR.NOT_OPERATOR_OR_MERCHANT);
    expect(capturable(intent)).toBe(600n);
  });

  it("void returns the rest and closes the escrow", () => {
    const intent = escrowIntent({ amount: 1_000n });
    expectOk(deposit(intent).result);
    expectOk(capture(intent, 300n).result);
    expectOk(simnet.callPublicFn(CONTRACT, "pause", [], deployer).result);
    expect(errCode(voidEscrow(intent, stranger).result)).toBe(ERR.NOT_OPERATOR_OR_MERCHANT);
    const before = balance(null, payer);
    const { result, events } = voidEscrow(intent);
    expectOk(result);
    expect(balance(null, payer)).toBe(before + 700n);
    expect(printed(events)).toEqual([{ event: "voided", id: hex(intent), payer, token: null, amount: 700n }]);
    expect(escrowOf(intent)).toMatchObject({ status: 2n, released: 700n, captured: 300n });
    expect(capturable(intent)).toBe(0n);
    expect(errCode(voidEscrow(intent).result)).toBe(ERR.ESCROW_NOT_OPEN);
    expect(errCode(refund(intent, 1n).result)).toBe(ERR.ESCROW_NOT_OPEN);
  });

  it("void of a fully captured escrow closes it without a transfer", () => {
    const intent = escrowIntent({ amount: 1_000n });
    expectOk(deposit(intent).result);
    expectOk(capture(intent, 1_000n).result);
    const { result, events } = voidEscrow(intent);
    expectOk(result);
    expect(events.filter((e) => e.event === "stx_transfer_event")).toHaveLength(0);
  });

  it("reclaim by the payer only, from the reclaim time on, even while paused", () => {
    mint(TOKEN_ID, 1_000n, payer);
    const intent = escrowIntent({ token: TOKEN_ID, amount: 1_000n, deadline: now() + 600n, reclaimAfter: now() + 1_200n });
    expectOk(deposit(intent).result);
    expectOk(refund(intent, 100n).result);
    expect(errCode(reclaim(intent).result)).toBe(ERR.RECLAIM_TOO_EARLY);
    simnet.mineEmptyBlocks(2);
    expectOk(simnet.callPublicFn(CONTRACT, "pause", [], deployer).result);
    expect(errCode(reclaim(intent, stranger).result)).toBe(ERR.NOT_PAYER);
    expect(errCode(reclaim(intent, payer, null).result)).toBe(ERR.WRONG_TOKEN);
    const { result, events } = reclaim(intent);
    expectOk(result);
    expect(printed(events)).toEqual([{ event: "reclaimed", id: hex(intent), payer, token: TOKEN_ID, amount: 900n }]);
    expect(balance(TOKEN_ID, payer)).toBe(1_000n);
    expect(escrowOf(intent)).toMatchObject({ status: 3n, released: 900n, refunded: 100n });
    expect(errCode(reclaim(intent).result)).toBe(ERR.ESCROW_NOT_OPEN);
  });
});

describe("a token that tries to take the escrow's other assets", () => {
  it("is stopped by the allowance: the payout fails and the STX stay", () => {
    const stx = escrowIntent({ amount: 5_000_000n });
    expectOk(deposit(stx).result);
    mint(THIEF_TOKEN_ID, 1_000n, payer);
    const thief = escrowIntent({ token: THIEF_TOKEN_ID, amount: 1_000n });
    expectOk(deposit(thief).result);
    const { result } = refund(thief, 1_000n);
    // as-contract? answers (err u128): an asset no allowance covers (the escrow's STX) would move.
    expect(result).toBeErr(Cl.uint(128));
    expect(balance(null, CONTRACT_ID)).toBe(5_000_000n);
    expect(balance(THIEF_TOKEN_ID, CONTRACT_ID)).toBe(1_000n);
    expect(capturable(thief)).toBe(1_000n);
  });
});
