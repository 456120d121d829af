// Execution costs of sluice-payments on clarinet-sdk's simnet (the Clarity VM's cost accounting:
// runtime units, reads, writes, as a block's budget counts them), per operation. A table, then a
// final JSON line.   node benchmarks/stacks_costs.mjs   (or make bench-stacks)
import path from "node:path";
import url from "node:url";
import { initSimnet } from "@stacks/clarinet-sdk";

const root = path.join(path.dirname(url.fileURLToPath(import.meta.url)), "..");
globalThis.simnet = await initSimnet(path.join(root, "contracts/stacks/Clarinet.toml"), false, {
  trackCosts: true,
  trackCoverage: false,
});
const h = await import("../contracts/stacks/tests/helpers.mjs");
h.setUpOperator();
h.mint(h.TOKEN_ID, 10n ** 15n, h.payer);

const splits = (n) => [h.feeRecipient, h.partner, h.stranger, h.deployer, h.feeRecipient].slice(0, n).map((recipient) => ({ recipient, bps: 100n }));
const rows = [];
function measure(name, call) {
  const { result, costs } = call();
  h.expectOk(result);
  const t = costs.total, l = costs.limit;
  rows.push({ operation: name, runtime: t.runtime, read_count: t.readCount, read_length: t.readLength, write_count: t.writeCount, write_length: t.writeLength, runtime_share_of_block: t.runtime / l.runtime });
}

measure("pay STX, no split", () => h.pay(h.makeIntent()));
measure("pay STX, 1 split", () => h.pay(h.makeIntent({ splits: splits(1) })));
measure("pay STX, 5 splits", () => h.pay(h.makeIntent({ splits: splits(5) })));
measure("pay token, 1 split", () => h.pay(h.makeIntent({ token: h.TOKEN_ID, splits: splits(1) })));
measure("pay token, 5 splits", () => h.pay(h.makeIntent({ token: h.TOKEN_ID, splits: splits(5) })));
const escrow = h.escrowIntent({ token: h.TOKEN_ID, splits: splits(1), allowPartial: true });
measure("deposit token (first)", () => h.deposit(escrow, 500_000n));
measure("deposit token (top-up)", () => h.deposit(escrow, 500_000n));
measure("capture token, 1 split", () => h.capture(escrow, 400_000n));
measure("refund token", () => h.refund(escrow, 100_000n));
measure("void token", () => h.voidEscrow(escrow));

const pad = (s, n) => String(s).padEnd(n);
console.log(pad("operation", 26) + pad("runtime", 12) + pad("reads", 8) + pad("read B", 10) + pad("writes", 8) + pad("write B", 10) + "share of block runtime");
for (const r of rows) {
  console.log(pad(r.operation, 26) + pad(r.runtime, 12) + pad(r.read_count, 8) + pad(r.read_length, 10) + pad(r.write_count, 8) + pad(r.write_length, 10) + (100 * r.runtime_share_of_block).toFixed(4) + " %");
}
console.log(JSON.stringify({ benchmark: "stacks_costs", rows }));
