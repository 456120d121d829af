// Property tests of the amounts (fast-check, 500 runs each): a payment's parts add up to the paid
// amount to the base unit and match a tiny model; an escrow never pays out more than was deposited
// and the contract holds exactly the sum of what its open escrows still owe.
import { describe, it, expect, beforeEach } from "vitest";
import fc from "fast-check";
import {
  CONTRACT_ID, TOKEN_ID, accounts, balance, capture, deposit, escrowIntent, expectOk, makeIntent, merchant, mint, pay,
  payer, printed, refund, reclaim, setUpOperator, voidEscrow,
} from "./helpers.mjs";

const RUNS = 500;
const recipients = ["wallet_3", "wallet_4", "wallet_5", "deployer", "wallet_2"].map((n) => accounts.get(n));

/** The model: each split gets floor(amount * bps / 10,000), the merchant the rest. */
const model = (amount, splits) => {
  const fees = splits.map((s) => (amount * s.bps) / 10_000n);
  return { fees, merchantAmount: amount - fees.reduce((a, b) => a + b, 0n) };
};

const splitsArb = fc
  .array(fc.record({ recipient: fc.constantFrom(...recipients), bps: fc.bigInt({ min: 0n, max: 1_000n }) }), { maxLength: 5 });

beforeEach(() => setUpOperator());

describe("amounts", () => {
  it("a payment's parts match the model and add up to the amount exactly", () => {
    mint(TOKEN_ID, 10n ** 30n, accounts.get("wallet_1"));
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 24n }), splitsArb, fc.boolean(), (amount, splits, useToken) => {
        const token = useToken ? TOKEN_ID : null;
        if (!useToken) amount = (amount % 10n ** 9n) + 1n; // at most 1,000 STX: 500 runs stay within the payer's STX
        const intent = makeIntent({ amount, splits, token });
        const everyone = [payer, merchant, ...recipients];
        const before = new Map(everyone.map((a) => [a, balance(token, a)]));
        const { result, events } = pay(intent);
        expectOk(result);
        const { fees, merchantAmount } = model(amount, splits);
        const [event] = printed(events);
        expect(event["fee-amounts"]).toEqual(fees);
        expect(event["merchant-amount"]).toBe(merchantAmount);
        // Each account's balance moved by exactly its parts (recipients may repeat or be the merchant).
        const expected = new Map(everyone.map((a) => [a, before.get(a)]));
        expected.set(payer, expected.get(payer) - amount);
        expected.set(merchant, expected.get(merchant) + merchantAmount);
        splits.forEach((s, i) => expected.set(s.recipient, expected.get(s.recipient) + fees[i]));
        for (const a of everyone) expect(balance(token, a)).toBe(expected.get(a));
      }),
      { numRuns: RUNS },
    );
  });

  it("an escrow's captures, refunds and release never exceed its deposits; the contract holds what is owed", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("capture"), amount: fc.bigInt({ min: 0n, max: 1_200n }) }),
      fc.record({ kind: fc.constant("refund"), amount: fc.bigInt({ min: 0n, max: 1_200n }) }),
      fc.record({ kind: fc.constant("void") }),
      fc.record({ kind: fc.constant("deposit"), amount: fc.bigInt({ min: 0n, max: 1_200n }) }),
    );
    let owedByOpen = 0n;
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 1_000n }), fc.bigInt({ min: 1n, max: 1_000n }), splitsArb, fc.array(op, { maxLength: 6 }),
        (amount, first, splits, ops) => {
          const intent = escrowIntent({ amount, allowPartial: true, splits });
          const deposited0 = first > amount ? amount : first;
          expectOk(deposit(intent, deposited0).result);
          let deposited = deposited0, paidOut = 0n, open = true;
          for (const o of ops) {
            const available = deposited - paidOut;
            let r;
            if (o.kind === "capture") r = capture(intent, o.amount);
            else if (o.kind === "refund") r = refund(intent, o.amount);
            else if (o.kind === "deposit") r = deposit(intent, o.amount);
            else r = voidEscrow(intent);
            const ok = r.result.type === "ok";
            // The model says which calls succeed.
            const shouldSucceed = !open ? false
              : o.kind === "void" ? true
              : o.kind === "deposit" ? o.amount > 0n && deposited + o.amount <= amount
              : o.amount > 0n && o.amount <= available;
            expect(ok).toBe(shouldSucceed);
            if (!ok) continue;
            if (o.kind === "deposit") deposited += o.amount;
            else if (o.kind === "void") { paidOut = deposited; open = false; }
            else paidOut += o.amount;
            expect(paidOut).toBeLessThanOrEqual(deposited);
          }
          if (open) owedByOpen += deposited - paidOut;
          expect(balance(null, CONTRACT_ID)).toBe(owedByOpen);
        }),
      { numRuns: RUNS },
    );
  });
});
