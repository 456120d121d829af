// Reference encodings from @stacks/transactions for tests/rails/stacks: reads a JSON request on
// stdin, answers JSON on stdout. Values are described as {type, value} (see test_stacks_codec.py).
import tx from "@stacks/transactions";

const {
  Cl, serializeCV, addressFromVersionHash, addressToString, encodeStructuredData, makeUnsignedContractCall,
  makeContractDeploy,
} = tx;

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString());

function cv(d) {
  switch (d.type) {
    case "uint": return Cl.uint(BigInt(d.value));
    case "int": return Cl.int(BigInt(d.value));
    case "buff": return Cl.bufferFromHex(d.value);
    case "bool": return Cl.bool(d.value);
    case "none": return Cl.none();
    case "some": return Cl.some(cv(d.value));
    case "ok": return Cl.ok(cv(d.value));
    case "err": return Cl.error(cv(d.value));
    case "principal": return Cl.principal(d.value);
    case "list": return Cl.list(d.value.map(cv));
    case "tuple": return Cl.tuple(Object.fromEntries(Object.entries(d.value).map(([k, v]) => [k, cv(v)])));
    case "ascii": return Cl.stringAscii(d.value);
    case "utf8": return Cl.stringUtf8(d.value);
    default: throw new Error(`unknown type ${d.type}`);
  }
}

const answer = {
  addresses: (request.addresses ?? []).map(([version, hash]) => addressToString(addressFromVersionHash(version, hash))),
  values: (request.values ?? []).map((d) => serializeCV(cv(d))),
  structured: (request.structured ?? []).map(({ message, domain }) =>
    encodeStructuredData({ message: cv(message), domain: cv(domain) })),
};
answer.calls = [];
for (const c of request.calls ?? []) {
  const [contractAddress, contractName] = c.contract.split(".");
  const t = await makeUnsignedContractCall({
    contractAddress, contractName, functionName: c.function, functionArgs: c.args.map(cv),
    publicKey: c.publicKey, fee: c.fee, nonce: c.nonce, network: c.network,
    postConditions: c.postConditions, postConditionMode: c.mode,
  });
  answer.calls.push(t.serialize());
}
answer.deploys = [];
for (const d of request.deploys ?? []) {
  const t = await makeContractDeploy({
    contractName: d.name, codeBody: d.source, clarityVersion: d.clarityVersion, senderKey: d.privateKey,
    fee: d.fee, nonce: d.nonce, network: d.network, postConditionMode: "deny",
  });
  answer.deploys.push({ hex: t.serialize(), txid: t.txid() });
}
process.stdout.write(JSON.stringify(answer));
