// Compiles a solc standard-JSON input read from stdin with the project's pinned solcjs and prints the
// standard-JSON output on stdout (nothing else). Imports such as "@openzeppelin/..." resolve from
// node_modules, project files from the working directory.
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require("solc");

function findImports(importPath) {
  const candidates = [path.resolve(importPath), path.join(__dirname, "..", "node_modules", importPath)];
  for (const candidate of candidates) {
    if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, "utf8") };
  }
  return { error: `File not found: ${importPath}` };
}

const input = fs.readFileSync(0, "utf8");
if (process.argv.includes("--version")) {
  process.stdout.write(solc.version());
} else {
  process.stdout.write(solc.compile(input, { import: findImports }));
}
