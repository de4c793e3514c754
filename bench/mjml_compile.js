// The render benchmark's anchor: the official MJML compiler (npm `mjml`), in process, warm.
//
// node bench/mjml_compile.js NODE_MODULES MJML_FILE COMPILES ROUNDS
// requires `mjml` from NODE_MODULES (the folder holding the CLI's .bin), compiles the
// file a few times to warm up, then ROUNDS rounds of COMPILES compiles each, and prints
// one JSON line: {"version": ..., "wall_ms": [...], "cpu_ms": [...]}, the mean wall and
// CPU (this process, all threads: its garbage collector included) milliseconds per
// compile of each round.
// Options as the product compiles with mjml-python: no comments, no web fonts.
"use strict";
const fs = require("fs");
const path = require("path");

const [nodeModules, mjmlFile, compiles, rounds] = process.argv.slice(2);
const mjml2html = require(path.join(nodeModules, "mjml"));
const version = require(path.join(nodeModules, "mjml", "package.json")).version;
const source = fs.readFileSync(mjmlFile, "utf8");
const options = { keepComments: false, fonts: {}, validationLevel: "soft" };

function compile() {
  const result = mjml2html(source, options);
  if (!result.html) throw new Error("mjml produced no HTML");
  return result.html.length;
}

for (let i = 0; i < 20; i++) compile();
const wallMs = [];
const cpuMs = [];
for (let r = 0; r < Number(rounds); r++) {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (let i = 0; i < Number(compiles); i++) compile();
  const used = process.cpuUsage(cpu);
  wallMs.push(Number(process.hrtime.bigint() - started) / 1e6 / Number(compiles));
  cpuMs.push((used.user + used.system) / 1e3 / Number(compiles));
}
console.log(JSON.stringify({ version, wall_ms: wallMs, cpu_ms: cpuMs }));
