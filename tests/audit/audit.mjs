#!/usr/bin/env node
// Runs the graphql-http GraphQL-over-HTTP conformance audit against a running server.
//
//   RETAIN_API_KEY=rk_… node tests/audit/audit.mjs http://127.0.0.1:PORT/graphql
//
// The gateway answers 401 without a key, so every audit request carries the key
// from RETAIN_API_KEY.
//
// Prints every audit (id, status, name, and the reason when it did not pass) and a
// summary, then exits 0 only when every audit is `ok`. Warnings (failed SHOULDs) and
// notices (failed MAYs) fail the run as well as errors (failed MUSTs): the gateway aims
// at full compliance, and a lenient exit code would let regressions slip through.
//
// Exit codes: 0 all ok, 1 some audit not ok, 2 bad usage or the audit could not run.

import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url || process.argv.length > 3) {
  console.error('usage: node audit.mjs <graphql endpoint url>');
  process.exit(2);
}
try {
  // Reject anything that is not an absolute http(s) URL before sending a request.
  const { protocol } = new URL(url);
  if (protocol !== 'http:' && protocol !== 'https:') throw new Error(protocol);
} catch {
  console.error(`not an http(s) URL: ${url}`);
  process.exit(2);
}

const key = process.env.RETAIN_API_KEY;
if (!key) {
  console.error('set RETAIN_API_KEY to an API key of the server under audit');
  process.exit(2);
}
// Global fetch (Node >= 18), with the key added to whatever headers the audit sends.
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${key}`);
  return fetch(input, { ...init, headers });
};

let results;
try {
  results = await auditServer({ url, fetchFn });
} catch (err) {
  // auditServer throws only on fatal problems, e.g. the server is not reachable.
  console.error(`audit could not run against ${url}:`, err);
  process.exit(2);
}

// MUSTs first so the most important failures are at the top; stable by id otherwise.
const rank = (name) => (name.startsWith('MUST') ? 0 : name.startsWith('SHOULD') ? 1 : 2);
results.sort((a, b) => rank(a.name) - rank(b.name) || a.id.localeCompare(b.id));

const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  const line = `${result.status.padEnd(6)} ${result.id} ${result.name}`;
  if (result.status === 'ok') {
    console.log(line);
    continue;
  }
  console.log(line);
  console.log(`       reason: ${result.reason}`);
  // The response body usually says why; read it defensively, it may be consumed or absent.
  const body = await responseSummary(result.response);
  if (body) console.log(`       response: ${body}`);
}

const failed = results.length - counts.ok;
console.log(
  `\n${results.length} audits: ${counts.ok} ok, ${counts.error} error, ` +
    `${counts.warn} warn, ${counts.notice} notice against ${url}`,
);
if (failed > 0) {
  console.log(`FAIL: ${failed} audit(s) not ok`);
  process.exit(1);
}
console.log('PASS: every audit ok');

async function responseSummary(response) {
  if (!response || typeof response.status !== 'number') return '';
  let text = '';
  try {
    if (!response.bodyUsed) text = await response.clone().text();
  } catch {
    // The body stream may already be locked or closed; the status line still helps.
  }
  const type = response.headers?.get?.('content-type') ?? '';
  const shortened = text.length > 300 ? `${text.slice(0, 300)}…` : text;
  return `${response.status} ${type} ${shortened}`.trim();
}
