/**
 * `npm test`: the type check (both TypeScript projects) and the lint run beside jest rather than
 * before it. They need ~45 s of CPU together and finish in the first minute of jest's run, whose
 * end-to-end files mostly wait on real-time audio with CPU to spare; run in front of jest they
 * added that minute to every run. Each check's outcome is printed when it ends; a failed check
 * prints its output, stops jest and fails the run, as when the checks ran first. Arguments go to
 * jest (`npm test -- test/unit`).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

// Incremental type checks: tsc keeps what it learnt of each file in node_modules/.cache (file
// hashes and their diagnostics) and re-checks only changed files and what depends on them. After
// a run with few changes the two checks need ~26 s of CPU instead of ~59 (42 -> 20 s and 17 -> 6 s
// on the 2-core machine; it still parses every file); a fresh clone (CI) checks everything as
// before. The result is a full check's: tsc compares every file's hash with what it recorded.
const buildInfo = (name) => path.join(root, 'node_modules', '.cache', 'parley-tsc', `${name}.tsbuildinfo`);
const checks = [
  {
    name: 'typecheck',
    command: bin('tsc'),
    args: ['--noEmit', '--incremental', '--tsBuildInfoFile', buildInfo('root')],
  },
  {
    name: 'typecheck (web)',
    command: bin('tsc'),
    args: ['--noEmit', '-p', 'web', '--incremental', '--tsBuildInfoFile', buildInfo('web')],
  },
  { name: 'lint', command: bin('biome'), args: ['check', '.'] },
];

// Jest's stdout passes through; its last line is CI's closing line (test/helpers/summary-reporter.js),
// printed again at the end should a check finish after jest.
const jest = spawn(bin('jest'), process.argv.slice(2), { cwd: root, stdio: ['inherit', 'pipe', 'inherit'] });
let jestTail = '';
jest.stdout.on('data', (d) => {
  process.stdout.write(d);
  jestTail = (jestTail + d).slice(-2_000);
});
let jestClosed = false;
let printedAfterJest = false;
const say = (text) => {
  process.stdout.write(text);
  if (jestClosed) printedAfterJest = true;
};
const jestDone = new Promise((resolve) =>
  jest.on('close', (code, signal) => {
    jestClosed = true;
    resolve(code ?? (signal ? 1 : 0));
  }),
);
let failed = false;

function runCheck({ name, command, args }) {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('error', (error) => {
      output += String(error);
    });
    child.on('close', (code) => {
      const seconds = ((performance.now() - started) / 1000).toFixed(0);
      if (code === 0) {
        say(`\n${name} passed (${seconds} s)\n`);
      } else {
        failed = true;
        say(`\n${name} FAILED (${seconds} s):\n${output}\n`);
        if (jest.exitCode === null) jest.kill('SIGTERM');
      }
      resolve();
    });
  });
}

await Promise.all(checks.map(runCheck));
const jestCode = await jestDone;
const closingLine = jestTail.trimEnd().split('\n').at(-1);
if (!failed && printedAfterJest && closingLine) process.stdout.write(`\n${closingLine}\n`);
process.exit(failed ? 1 : jestCode);
