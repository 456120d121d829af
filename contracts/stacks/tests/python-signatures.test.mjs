// Intents signed by Sluice's Python code (sluice.rails.stacks.sip018) against the real contract.
// tests/rails/stacks/test_stacks_python_signatures.py writes the cases to a JSON file and runs this
// file with SLUICE_STACKS_FIXTURE pointing at it; without the variable there is nothing to check.
import { describe, it, expect } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { Cl, serializeCV } from "@stacks/transactions";
import {
  CONTRACT, capture, deployer, deposit, errCode, expectOk, intentCV, merchant, mint, pay, payer, readOnly, refund,
  voidEscrow,
} from "./helpers.mjs";

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

// Each successful call as the Stacks Blockchain API reports a transaction (`/extended/v1/tx/{id}`),
// for the Python rail to decode (tests/rails/stacks/test_stacks_events.py).
const observed = [];
function observe(call, n) {
  const events = call.events
    .filter((e) => e.event === "print_event")
    .map((e, i) => ({
      event_index: i,
      event_type: "smart_contract_log",
      tx_id: `0x${n.toString(16).padStart(64, "0")}`,
      contract_log: {
        contract_id: e.data.contract_identifier,
        topic: e.data.topic,
        value: { hex: `0x${serializeCV(e.data.value)}`, repr: Cl.prettyPrint(e.data.value) },
      },
    }));
  observed.push({
    tx_id: `0x${n.toString(16).padStart(64, "0")}`,
    tx_status: call.result.type === "ok" ? "success" : "abort_by_response",
    canonical: true,
    block_height: simnet.stacksBlockHeight,
    block_hash: `0x${simnet.stacksBlockHeight.toString(16).padStart(64, "0")}`,
    block_time: Number(simnet.getBlockTime()),
    tx_index: 0,
    sender_address: payer,
    events,
  });
  return call;
}

describe.runIf(fixture)("signatures made in Python", () => {
  it("the contract computes the same intent hash and accepts exactly the valid signatures", () => {
    expect(fixture.contract).toBe(`${deployer}.${CONTRACT}`);
    expectOk(simnet.callPublicFn(CONTRACT, "rotate-signer", [Cl.bufferFromHex(fixture.operator_public_key), Cl.uint(0)], deployer).result);
    expect(fixture.cases.length).toBeGreaterThan(0);
    for (const c of fixture.cases) {
      const intent = fromJson(c.intent);
      if (c.hash) expect(readOnly("intent-hash", [intentCV(intent)]).value).toBe(c.hash);
      if (intent.token) mint(intent.token, intent.amount, c.sender ?? payer);
      const { result } = observe(pay(intent, { signature: c.signature, sender: c.sender ?? payer }), observed.length + 1);
      if (c.expect === "ok") expectOk(result);
      else expect(errCode(result), c.name).toBe(c.expect);
    }
  });

  it("escrow calls on a Python-signed intent report deposit, capture, refund and release", () => {
    expectOk(simnet.callPublicFn(CONTRACT, "rotate-signer", [Cl.bufferFromHex(fixture.operator_public_key), Cl.uint(0)], deployer).result);
    const e = fixture.escrow;
    const intent = fromJson(e.intent);
    expectOk(observe(deposit(intent, intent.amount, { signature: e.signature }), 1000).result);
    expectOk(observe(capture(intent, BigInt(e.capture), merchant), 1001).result);
    expectOk(observe(refund(intent, BigInt(e.refund), merchant), 1002).result);
    expectOk(observe(voidEscrow(intent, merchant), 1003).result);
    if (process.env.SLUICE_STACKS_OBSERVED_OUT) writeFileSync(process.env.SLUICE_STACKS_OBSERVED_OUT, JSON.stringify(observed));
  });
});
