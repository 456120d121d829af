// Owner and operator calls: two-step ownership, signer rotation with a grace period, pause, nonce
// invalidation, and the read-only views.
import { describe, it, expect, beforeEach } from "vitest";
import { Cl, hashStructuredData } from "@stacks/transactions";
import {
  CONTRACT, ERR, domainCV, OPERATOR, OPERATOR_PUBKEY, OTHER_KEY, OTHER_PUBKEY, deployer, errCode, expectOk, makeIntent,
  pay, payer, printed, readOnly, setUpOperator, sign, stranger,
} from "./helpers.mjs";

const call = (method, args, sender = deployer) => simnet.callPublicFn(CONTRACT, method, args, sender);
const rotate = (key, grace, sender = deployer) => call("rotate-signer", [Cl.bufferFromHex(key), Cl.uint(grace)], sender);

describe("before any signer is set", () => {
  it("refuses every intent", () => {
    const intent = makeIntent();
    expect(errCode(pay(intent).result)).toBe(ERR.NO_SIGNER);
    expect(readOnly("get-signer")).toBeNone();
  });
});

describe("ownership", () => {
  it("moves in two steps and only to the nominee", () => {
    const start = call("transfer-ownership", [Cl.principal(stranger)]);
    expectOk(start.result);
    expect(printed(start.events)).toEqual([{ event: "ownership-transfer-started", owner: deployer, "pending-owner": stranger }]);
    expect(readOnly("get-owner")).toBePrincipal(deployer);
    expect(readOnly("get-pending-owner")).toBeSome(Cl.principal(stranger));
    expect(errCode(call("accept-ownership", [], payer).result)).toBe(ERR.NOT_PENDING_OWNER);
    const accept = call("accept-ownership", [], stranger);
    expectOk(accept.result);
    expect(printed(accept.events)).toEqual([{ event: "ownership-transferred", "previous-owner": deployer, owner: stranger }]);
    expect(readOnly("get-owner")).toBePrincipal(stranger);
    expect(readOnly("get-pending-owner")).toBeNone();
    // The old owner lost every owner call.
    expect(errCode(call("pause", []).result)).toBe(ERR.NOT_OWNER);
    expect(errCode(call("transfer-ownership", [Cl.principal(deployer)]).result)).toBe(ERR.NOT_OWNER);
  });

  it("cannot be started by anyone else", () => {
    expect(errCode(call("transfer-ownership", [Cl.principal(stranger)], stranger).result)).toBe(ERR.NOT_OWNER);
  });
});

describe("signer rotation", () => {
  beforeEach(() => setUpOperator());

  it("only by the owner, with a valid key and a grace of at most a day", () => {
    expect(errCode(rotate(OTHER_PUBKEY, 0, stranger).result)).toBe(ERR.NOT_OWNER);
    expect(errCode(rotate(OTHER_PUBKEY, 86_401).result)).toBe(ERR.GRACE_TOO_LONG);
    expect(errCode(rotate("02" + "00".repeat(32), 0).result)).toBe(ERR.INVALID_KEY);
  });

  it("keeps the previous key valid during the grace period only", () => {
    const before = makeIntent();
    const late = makeIntent();
    const { result, events } = rotate(OTHER_PUBKEY, 1_000);
    expectOk(result);
    const [event] = printed(events);
    expect(event.event).toBe("signer-rotated");
    expect(event.signer).toBe(OTHER_PUBKEY);
    expect(event["previous-signer"]).toBe(OPERATOR_PUBKEY);
    expect(readOnly("get-signer")).toBeSome(Cl.bufferFromHex(OTHER_PUBKEY));
    expect(readOnly("get-previous-signer")).toBeTuple({
      signer: Cl.some(Cl.bufferFromHex(OPERATOR_PUBKEY)), "valid-until": Cl.uint(event["previous-valid-until"]),
    });
    // Old key: still accepted within the grace; new key accepted.
    expectOk(pay(before).result);
    const fresh = makeIntent();
    expectOk(pay(fresh, { signature: sign(fresh, { key: OTHER_KEY }) }).result);
    expect(readOnly("is-operator", [Cl.principal(OPERATOR)])).toBeBool(true);
    simnet.mineEmptyBlocks(2); // 1,200 s later
    expect(errCode(pay(late).result)).toBe(ERR.WRONG_SIGNER);
    expect(readOnly("is-operator", [Cl.principal(OPERATOR)])).toBeBool(false);
  });

  it("with no grace revokes the previous key at once", () => {
    expectOk(rotate(OTHER_PUBKEY, 0).result);
    expect(errCode(pay(makeIntent()).result)).toBe(ERR.WRONG_SIGNER);
  });
});

describe("pause", () => {
  it("only the owner pauses and unpauses, each once", () => {
    expect(errCode(call("pause", [], stranger).result)).toBe(ERR.NOT_OWNER);
    expect(errCode(call("unpause", []).result)).toBe(ERR.NOT_PAUSED);
    const paused = call("pause", []);
    expectOk(paused.result);
    expect(printed(paused.events)).toEqual([{ event: "paused", account: deployer }]);
    expect(readOnly("is-paused")).toBeBool(true);
    expect(errCode(call("pause", []).result)).toBe(ERR.PAUSED);
    expect(errCode(call("unpause", [], stranger).result)).toBe(ERR.NOT_OWNER);
    expectOk(call("unpause", []).result);
    expect(readOnly("is-paused")).toBeBool(false);
  });
});

describe("nonce invalidation", () => {
  beforeEach(() => setUpOperator());

  it("by the owner or the operator, not by others", () => {
    expect(errCode(call("invalidate-nonce", [Cl.uint(7)], stranger).result)).toBe(ERR.NOT_OPERATOR);
    simnet.transferSTX(1_000_000, OPERATOR, deployer); // the operator pays its own fees
    const { result, events } = call("invalidate-nonce", [Cl.uint(7)], OPERATOR);
    expectOk(result);
    expect(printed(events)).toEqual([{ event: "nonce-invalidated", nonce: 7n, account: OPERATOR }]);
    expect(readOnly("is-nonce-used", [Cl.uint(7)])).toBeBool(true);
    expectOk(call("invalidate-nonce", [Cl.uint(8)]).result);
    expect(readOnly("is-nonce-used", [Cl.uint(8)])).toBeBool(true);
  });
});

describe("views", () => {
  it("the domain hash is SIP-018's hash of {name, version, chain-id, verifying-contract}", () => {
    expect(readOnly("get-domain-hash")).toBeBuff(Uint8Array.from(Buffer.from(hashStructuredData(domainCV()), "hex")));
    expect(readOnly("get-domain-hash")).not.toBeBuff(
      Uint8Array.from(Buffer.from(hashStructuredData(domainCV({ chainId: 1n })), "hex")),
    );
  });
});
