#!/usr/bin/env node
// A stand-in for a native `solc` 0.8.30 binary, backed by the project's pinned solcjs (npm `solc`).
//
// Why: ape-solidity compiles through py-solc-x, which runs a native `solc-v<version>` binary from
// ~/.solcx (or $SOLCX_BINARY_PATH) and downloads one when missing. Where it cannot download (CI,
// sandboxes) and for bytecode identical to contracts/artifacts, `make setup` links this script
// there as `solc-v0.8.30` (scripts/install-solc-wrapper.sh).
//
// It implements what py-solc-x and ape-solidity call:
//   --version                    native solc's two-line output (py-solc-x parses "0.8.30+commit.…")
//   --standard-json              standard-JSON input on stdin, only the JSON output on stdout
//     [--base-path DIR] [--include-path DIR]… [--allow-paths A,B] [-]
// Imports resolve as native solc does (base path, then include paths; only inside the base path,
// include paths, allowed paths and the working directory), then from node_modules of the working
// directory or of this checkout: "@openzeppelin/contracts/…" as contracts/compile.js does, and
// "node_modules/@openzeppelin/contracts/…", the import_remapping of ape-config.yaml (ape-solidity
// compiles a copy of contracts/ in a temporary directory that has no node_modules).
//
// Sluice compiles without CBOR metadata (sluice/contracts/build.py). ape-solidity has no setting for
// it, so when the input holds Sluice's own contracts (a "contracts/…" source identical to the file in
// a checkout that ships this script) and leaves settings.metadata unset, the wrapper sets it to the
// project's value: `ape compile` then gives exactly the bytecode of `sluice contracts build`.
// SLUICE_SOLC_KEEP_METADATA=1 turns that off; other projects' inputs pass through unchanged.
"use strict";
const fs = require("fs");
const path = require("path");

const PROJECT_ROOT = path.resolve(__dirname, "..");
const PROJECT_METADATA = { appendCBOR: false, bytecodeHash: "none" };

function fail(message, code = 1) {
  process.stderr.write(message + "\n");
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, basePath: null, includePaths: [], allowPaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`Error: option '${arg}' requires an argument`);
      return argv[++i];
    };
    if (arg === "--version") opts.version = true;
    else if (arg === "--standard-json") opts.standardJson = true;
    else if (arg === "--base-path") opts.basePath = value();
    else if (arg === "--include-path") opts.includePaths.push(value());
    else if (arg === "--allow-paths") opts.allowPaths.push(...value().split(",").filter(Boolean));
    else if (arg === "-") continue; // stdin, implied by --standard-json
    else if (arg === "--help") {
      process.stdout.write("solc (solcjs wrapper): --version | --standard-json [--base-path DIR] [--include-path DIR] [--allow-paths A,B]\n");
      process.exit(0);
    } else fail(`unrecognised option '${arg}'`); // py-solc-x maps this message to UnknownOption
  }
  return opts;
}

function nativeVersion(solc) {
  // solcjs reports e.g. 0.8.30+commit.73712a01.Emscripten.clang; native Linux builds .Linux.g++.
  const match = /^(\d+\.\d+\.\d+(?:-[\w.]+)?\+commit\.[0-9a-f]+)/.exec(solc.version());
  if (!match) fail(`unexpected solcjs version ${solc.version()}`);
  return `${match[1]}.Linux.g++`;
}

function isFile(file) {
  return fs.existsSync(file) && fs.statSync(file).isFile();
}

function isInside(file, dir) {
  const rel = path.relative(dir, file);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

function importCallback(opts) {
  const base = path.resolve(opts.basePath || process.cwd());
  const includes = opts.includePaths.map((p) => path.resolve(p));
  const allowed = [base, ...includes, ...opts.allowPaths.map((p) => path.resolve(p)), process.cwd()];
  return (importPath) => {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : [base, ...includes].map((dir) => path.join(dir, importPath));
    for (const file of candidates) {
      if (allowed.some((dir) => isInside(file, dir)) && isFile(file)) return { contents: fs.readFileSync(file, "utf8") };
    }
    // Packages: "@openzeppelin/contracts/…" (no remapping) or "node_modules/@openzeppelin/contracts/…" (the
    // remapping in ape-config.yaml). ape-solidity compiles a copy of the sources in a temporary directory
    // without node_modules, so they come from the project's (working directory's, else this checkout's).
    if (!path.isAbsolute(importPath)) {
      for (const root of [process.cwd(), PROJECT_ROOT]) {
        const nodeModules = path.join(root, "node_modules");
        for (const file of [path.join(nodeModules, importPath), path.join(root, importPath)]) {
          if (isInside(file, nodeModules) && isFile(file)) return { contents: fs.readFileSync(file, "utf8") };
        }
      }
    }
    return { error: `File not found inside the base path or any of the include paths: ${importPath}` };
  };
}

// Whether the input compiles Sluice's own contracts: a "contracts/…" source identical to the file in a
// checkout that ships this wrapper (the working directory's, else this one).
function isProjectInput(input) {
  const roots = [process.cwd(), PROJECT_ROOT].filter((root) => isFile(path.join(root, "scripts", "solc-native-wrapper.js")));
  return Object.entries(input.sources || {}).some(([name, source]) => {
    if (!name.startsWith("contracts/") || typeof source.content !== "string") return false;
    return roots.some((root) => {
      const file = path.join(root, name);
      return isInside(file, path.join(root, "contracts")) && isFile(file) && fs.readFileSync(file, "utf8") === source.content;
    });
  });
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  let solc;
  try {
    solc = require(path.join(PROJECT_ROOT, "node_modules", "solc"));
  } catch (err) {
    fail(`the npm package solc is missing in ${PROJECT_ROOT}/node_modules; run \`make setup\` (${err.message})`);
  }
  if (opts.version) {
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${nativeVersion(solc)}\n`);
    return;
  }
  if (!opts.standardJson) fail("only --version and --standard-json are supported by this solcjs wrapper");

  const raw = fs.readFileSync(0, "utf8");
  let input;
  try {
    input = JSON.parse(raw);
  } catch (err) {
    // Native solc answers a malformed input with a JSON error, exit code 0.
    const error = { component: "general", severity: "error", type: "JSONError", message: err.message };
    process.stdout.write(JSON.stringify({ errors: [{ ...error, formattedMessage: `JSONError: ${err.message}` }] }));
    return;
  }
  if (process.env.SLUICE_SOLC_KEEP_METADATA !== "1" && isProjectInput(input)) {
    input.settings = input.settings || {};
    if (input.settings.metadata === undefined) input.settings.metadata = { ...PROJECT_METADATA };
  }
  process.stdout.write(solc.compile(JSON.stringify(input), { import: importCallback(opts) }));
}

main();
