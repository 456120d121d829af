// A development tool, not a node: clarinet-sdk's simnet (the real Clarity VM, in process) behind
// the few Stacks Blockchain API endpoints Sluice's Stacks rail and `sluice deploy` use, with the
// same JSON shapes as the public API. The chain starts empty apart from the devnet accounts of
// settings/Devnet.toml; contracts arrive through signed deploy transactions like on a real network.
//
//   node contracts/stacks/dev/simnet-api.mjs --port 3999
//
// What differs from a real node (docs/stacks.md): one transaction per block, mined at once; the
// transaction's signature is checked (its signer must be the sender) but post-conditions are not
// enforced; fees are not charged; only the endpoints below exist.
import http from "node:http";
import { mkdtempSync, mkdirSync, copyFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import url from "node:url";
import { initSimnet } from "@stacks/clarinet-sdk";
import tx from "@stacks/transactions";

const { Cl, deserializeTransaction, serializeCV, deserializeCV, PayloadType, addressToString, AddressVersion } = tx;

const here = path.dirname(url.fileURLToPath(import.meta.url));
const port = Number(process.argv[process.argv.indexOf("--port") + 1] || 3999);
const CHAIN_ID = 0x80000000;

// An empty Clarinet project with the devnet accounts: simnet deploys nothing at genesis.
const project = mkdtempSync(path.join(tmpdir(), "sluice-simnet-"));
mkdirSync(path.join(project, "settings"));
copyFileSync(path.join(here, "..", "settings", "Devnet.toml"), path.join(project, "settings", "Devnet.toml"));
writeFileSync(path.join(project, "Clarinet.toml"), '[project]\nname = "sluice-dev"\nrequirements = []\ntelemetry = false\n');
const simnet = await initSimnet(path.join(project, "Clarinet.toml"));
simnet.setEpoch("3.3"); // Clarity 4 (stacks-block-time, as-contract?), as mainnet since Nakamoto's 3.3

const nonces = new Map();
const transactions = new Map();
const order = [];

const hex = (bytes) => Buffer.from(bytes).toString("hex");
const hashHex = (n) => `0x${n.toString(16).padStart(64, "0")}`;

function senderOf(t) {
  const condition = t.auth.spendingCondition;
  // Recover the signer and check it is the spending condition's key hash: throws otherwise.
  t.verifyOrigin();
  return addressToString({ type: 0, version: AddressVersion.TestnetSingleSig, hash160: condition.signer });
}

function record(t, sender, result) {
  const txId = `0x${t.txid()}`;
  const height = simnet.stacksBlockHeight;
  const events = result.events.map((e, i) => {
    if (e.event === "print_event") {
      return {
        event_index: i,
        event_type: "smart_contract_log",
        tx_id: txId,
        contract_log: {
          contract_id: e.data.contract_identifier,
          topic: e.data.topic,
          value: { hex: `0x${serializeCV(e.data.value)}`, repr: Cl.prettyPrint(e.data.value) },
        },
      };
    }
    if (e.event === "stx_transfer_event") {
      return { event_index: i, event_type: "stx_asset", tx_id: txId, asset: { asset_event_type: "transfer", ...e.data } };
    }
    if (e.event === "ft_transfer_event") {
      return { event_index: i, event_type: "fungible_token_asset", tx_id: txId, asset: { asset_event_type: "transfer", asset_id: e.data.asset_identifier, ...e.data } };
    }
    return { event_index: i, event_type: e.event, tx_id: txId };
  });
  const ok = result.result.type === "ok" || result.result.type === "true";
  const entry = {
    tx_id: txId,
    tx_status: ok ? "success" : "abort_by_response",
    tx_result: { hex: `0x${serializeCV(result.result)}`, repr: Cl.prettyPrint(result.result) },
    canonical: true,
    block_height: height,
    block_hash: hashHex(height),
    block_time: Number(simnet.getBlockTime()),
    burn_block_height: simnet.burnBlockHeight,
    tx_index: 0,
    sender_address: sender,
    nonce: Number(t.auth.spendingCondition.nonce),
    fee_rate: String(t.auth.spendingCondition.fee),
    event_count: events.length,
    events,
  };
  transactions.set(txId, entry);
  order.push(txId);
  return txId;
}

function execute(bytes) {
  const t = deserializeTransaction(hex(bytes));
  if (t.chainId !== CHAIN_ID) throw { status: 400, error: "transaction rejected", reason: "BadChainId" };
  const sender = senderOf(t);
  const expected = nonces.get(sender) ?? 0n;
  if (BigInt(t.auth.spendingCondition.nonce) !== expected) {
    throw { status: 400, error: "transaction rejected", reason: "BadNonce", reason_data: { expected: Number(expected) } };
  }
  const p = t.payload;
  let result;
  if (p.payloadType === PayloadType.ContractCall) {
    const contract = `${addressToString(p.contractAddress)}.${p.contractName.content}`;
    result = simnet.callPublicFn(contract, p.functionName.content, p.functionArgs, sender);
  } else if (p.payloadType === PayloadType.VersionedSmartContract || p.payloadType === PayloadType.SmartContract) {
    const version = p.clarityVersion ?? 4;
    result = simnet.deployContract(p.contractName.content, p.codeBody.content, { clarityVersion: version }, sender);
  } else {
    throw { status: 400, error: "transaction rejected", reason: "UnsupportedPayload" };
  }
  nonces.set(sender, expected + 1n);
  return record(t, sender, result);
}

function json(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

const routes = [
  [/^\/v2\/info$/, () => [200, {
    network_id: CHAIN_ID, peer_version: 0, server_version: "sluice-simnet-api (development tool)",
    stacks_tip_height: simnet.stacksBlockHeight, burn_block_height: simnet.burnBlockHeight,
  }]],
  [/^\/v2\/accounts\/([^/?]+)/, (m) => {
    const stx = simnet.getAssetsMap().get("STX")?.get(m[1]) ?? 0n;
    return [200, { balance: `0x${stx.toString(16).padStart(32, "0")}`, locked: "0x" + "0".repeat(32), nonce: Number(nonces.get(m[1]) ?? 0n) }];
  }],
  [/^\/v2\/fees\/transfer$/, () => [200, 1]],
  [/^\/v2\/contracts\/source\/([^/]+)\/([^/?]+)/, (m) => {
    const source = simnet.getContractSource(`${m[1]}.${m[2]}`);
    return source === undefined ? [404, { error: "contract not found" }] : [200, { source, publish_height: 0, proof: "" }];
  }],
  [/^\/extended\/v1\/tx\/(0x[0-9a-f]{64})/, (m) => {
    const found = transactions.get(m[1]);
    return found ? [200, found] : [404, { error: `could not find transaction by ID ${m[1]}` }];
  }],
  [/^\/extended\/v1\/contract\/([^/?]+)\/events/, (m, query) => {
    const offset = Number(query.get("offset") ?? 0), limit = Number(query.get("limit") ?? 20);
    const all = order.slice().reverse().flatMap((id) => transactions.get(id).events
      .filter((e) => e.event_type === "smart_contract_log" && e.contract_log.contract_id === m[1]).slice().reverse());
    return [200, { limit, offset, results: all.slice(offset, offset + limit) }];
  }],
];

const server = http.createServer((req, res) => {
  const { pathname, searchParams } = new URL(req.url, "http://localhost");
  const readOnly = pathname.match(/^\/v2\/contracts\/call-read\/([^/]+)\/([^/]+)\/([^/?]+)/);
  if (req.method === "POST" && readOnly) {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      try {
        const { sender, arguments: args } = JSON.parse(Buffer.concat(chunks).toString());
        const call = simnet.callReadOnlyFn(`${readOnly[1]}.${readOnly[2]}`, readOnly[3], args.map((a) => deserializeCV(a)), sender);
        json(res, 200, { okay: true, result: `0x${serializeCV(call.result)}` });
      } catch (e) {
        json(res, 200, { okay: false, cause: String(e.message ?? e) });
      }
    });
    return;
  }
  if (req.method === "POST" && pathname === "/v2/transactions") {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      try {
        json(res, 200, execute(Buffer.concat(chunks)));
      } catch (e) {
        const { status = 400, ...body } = e instanceof Error || typeof e === "string"
          ? { error: "transaction rejected", reason: "Runtime", reason_data: { message: String(e.message ?? e) } }
          : e;
        json(res, status, body);
      }
    });
    return;
  }
  for (const [pattern, handler] of routes) {
    const m = pathname.match(pattern);
    if (req.method === "GET" && m) {
      const [status, body] = handler(m, searchParams);
      return json(res, status, body);
    }
  }
  json(res, 404, { error: `no such endpoint on the simnet API: ${req.method} ${pathname}` });
});

server.listen(port, "127.0.0.1", () => {
  console.log(`sluice simnet API listening on http://127.0.0.1:${port}`);
});
