// Intents signed by Sluice's Python code (sluice.rails.stacks.sip018) against the real contract.
// tests/rails/stacks/test_stacks_python_signatures.py writes the cases to a JSON file and runs this
// file with SLUICE_STACKS_FIXTURE pointing at it; without the variable there is nothing to check.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { Cl } from "@stacks/transactions";
import { CONTRACT, deployer, errCode, expectOk, intentCV, mint, pay, payer, readOnly } from "./helpers.mjs";

const path = process.env.SLUICE_STACKS_FIXTURE;
const fixture = path ? JSON.parse(readFileSync(path, "utf8")) : null;

const fromJson = (i) => ({
  id: Uint8Array.from(Buffer.from(i.id, "hex")),
  nonce: BigInt(i.nonce),
  token: i.token,
  amount: BigInt(i.amount),
  payer: i.payer,
  deadline: BigInt(i.deadline),
  merchant: i.merchant,
  splits: i.splits.map((s) => ({ recipient: s.recipient, bps: BigInt(s.bps) })),
  reclaimAfter: BigInt(i.reclaim_after),
  allowPartial: i.allow_partial,
});

describe.runIf(fixture)("signatures made in Python", () => {
  it("the contract computes the same intent hash and accepts exactly the valid signatures", () => {
    expect(fixture.contract).toBe(`${deployer}.${CONTRACT}`);
    expectOk(simnet.callPublicFn(CONTRACT, "rotate-signer", [Cl.bufferFromHex(fixture.operator_public_key), Cl.uint(0)], deployer).result);
    expect(fixture.cases.length).toBeGreaterThan(0);
    for (const c of fixture.cases) {
      const intent = fromJson(c.intent);
      if (c.hash) expect(readOnly("intent-hash", [intentCV(intent)]).value).toBe(c.hash);
      if (intent.token) mint(intent.token, intent.amount, c.sender ?? payer);
      const { result } = pay(intent, { signature: c.signature, sender: c.sender ?? payer });
      if (c.expect === "ok") expectOk(result);
      else expect(errCode(result), c.name).toBe(c.expect);
    }
  });
});
