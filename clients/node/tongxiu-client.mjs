// A Tongxiu client in JavaScript (Node.js >= 18, built-in modules only), written from
// docs/signing.md: it builds the complete events from the published JSON Schemas' defaults,
// canonicalises per RFC 8785, signs with Ed25519, submits over HTTP, and verifies what it
// reads back.
//
//   node tongxiu-client.mjs vectors <tests/vectors/signing.json> <docs/schemas>
//       re-derive every test vector from its sent body and key; prints a JSON summary
//   node tongxiu-client.mjs bundle '<json config>'
//       sign and submit a 三书同达 bundle (penalty decision, compliance advice, credit-repair
//       notice), resend it, read the events back and verify them; prints a JSON summary
//
// Exit status 0 when every check held, 1 otherwise (the reason on stderr).

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

// ---------------------------------------------------------------- canonical JSON (RFC 8785)

// JCS for the values Tongxiu signs: objects with their members sorted by key (UTF-16 code
// units, which is JavaScript's own string order), JSON.stringify's string escaping (which is
// RFC 8785's), integers only.
export function canonicalize(value) {
  if (value === null || typeof value === "boolean" || typeof value === "string") {
    return JSON.stringify(value);
  }
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value} (Tongxiu signs no floats)`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return "[" + value.map(canonicalize).join(",") + "]";
  if (typeof value === "object") {
    const keys = Object.keys(value).sort();
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalize(value[k])).join(",") + "}";
  }
  throw new Error(`cannot canonicalise ${typeof value}`);
}

const sha256 = (text) => crypto.createHash("sha256").update(Buffer.from(text, "utf8")).digest("hex");

// ---------------------------------------------------------------- Ed25519 with hex keys

const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

function privateKey(seedHex) {
  return crypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, Buffer.from(seedHex, "hex")]), format: "der", type: "pkcs8" });
}

export function publicKeyHex(seedHex) {
  const der = crypto.createPublicKey(privateKey(seedHex)).export({ format: "der", type: "spki" });
  return der.subarray(SPKI_PREFIX.length).toString("hex");
}

export function sign(seedHex, text) {
  return crypto.sign(null, Buffer.from(text, "utf8"), privateKey(seedHex)).toString("hex");
}

export function verify(publicHex, text, signatureHex) {
  const key = crypto.createPublicKey({ key: Buffer.concat([SPKI_PREFIX, Buffer.from(publicHex, "hex")]), format: "der", type: "spki" });
  return crypto.verify(null, Buffer.from(text, "utf8"), key, Buffer.from(signatureHex, "hex"));
}

// ---------------------------------------------------------------- values as the ledger writes them

// docs/signing.md §4.2: UTC, seconds always, six fraction digits only when there is a fraction.
export function utcTime(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/i.exec(text);
  if (!m) throw new Error(`occurred_at: not an ISO 8601 time with a zone: ${text}`);
  const [, y, mo, d, h, mi, s, frac = "", zone] = m;
  let offsetMin = 0;
  if (zone.toUpperCase() !== "Z") {
    const sign = zone[0] === "-" ? -1 : 1;
    offsetMin = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  }
  const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s) - offsetMin * 60_000;
  const iso = new Date(ms).toISOString().slice(0, 19); // YYYY-MM-DDTHH:MM:SS
  const micros = (frac + "000000").slice(0, 6);
  return micros === "000000" ? `${iso}Z` : `${iso}.${micros}Z`;
}

// docs/signing.md §4.1: every property of the schema, the schema's default where not sent.
export function complete(value, schema, root) {
  if (schema.$ref) schema = root.$defs[schema.$ref.split("/").pop()];
  if (schema.anyOf && value !== null && typeof value === "object" && !Array.isArray(value)) {
    return complete(value, schema.anyOf.find((s) => s.$ref || s.type === "object"), root);
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value) && schema.properties) {
    const out = {};
    for (const [k, prop] of Object.entries(schema.properties)) {
      if (k in value) out[k] = complete(value[k], prop, root);
      else if ("default" in prop) out[k] = prop.default;
      else throw new Error(`missing required field ${k}`);
    }
    for (const k of Object.keys(value)) if (!(k in schema.properties)) throw new Error(`unknown field ${k}`);
    return out;
  }
  if (Array.isArray(value) && schema.items) return value.map((x) => complete(x, schema.items, root));
  return value;
}

export function loadSchemas(dir) {
  const schemas = {};
  for (const f of fs.readdirSync(dir)) {
    if (f.endsWith(".schema.json")) schemas[f.replace(".schema.json", "")] = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
  }
  return schemas;
}

// ---------------------------------------------------------------- signing (docs/signing.md §3)

export function signedStructures(sub, completeEvents) {
  const digest = sha256(canonicalize(completeEvents));
  return completeEvents.map((event, index) => ({
    stream: sub.stream,
    department: sub.department,
    submission_id: sub.submission_id,
    occurred_at: utcTime(sub.occurred_at),
    index,
    legacy_code: sub.legacy_code ?? false,
    event,
    signature_format: 2,
    submission_digest: digest,
    submission_size: completeEvents.length,
  }));
}

// An unsigned submission (bare events) -> the body to POST, each event signed.
export function signSubmission(sub, seedHex, schemas) {
  const full = sub.events.map((e) => {
    const schema = schemas[e.type];
    if (!schema) throw new Error(`unknown event type ${e.type}`);
    return complete(e, schema, schema);
  });
  const structures = signedStructures(sub, full);
  const body = { ...sub, events: sub.events.map((e, i) => ({ event: e, signature: sign(seedHex, canonicalize(structures[i])) })) };
  return { body, structures, digest: structures[0].submission_digest };
}

// A stored envelope, as read back: its signature (over the members it carries) and its hash.
export function verifyEnvelope(env, publicHex) {
  const signed = {
    stream: env.stream, department: env.department, submission_id: env.submission_id,
    occurred_at: env.occurred_at, index: env.index, legacy_code: env.legacy_code ?? false, event: env.event,
  };
  if ((env.signature_format ?? 1) !== 1) {
    Object.assign(signed, { signature_format: env.signature_format, submission_digest: env.submission_digest, submission_size: env.submission_size });
  }
  const { hash, ...body } = env;
  return { signature: verify(publicHex, canonicalize(signed), env.signature), hash: sha256(canonicalize(body)) === hash };
}

// ---------------------------------------------------------------- commands

function check(cond, message) {
  if (!cond) throw new Error(message);
}

function vectorsCommand(vectorsFile, schemasDir) {
  const schemas = loadSchemas(schemasDir);
  const { vectors } = JSON.parse(fs.readFileSync(vectorsFile, "utf8"));
  let events = 0;
  for (const v of vectors) {
    check(publicKeyHex(v.private_key) === v.public_key, `${v.name}: public key`);
    const unsigned = { ...v.sent, events: v.sent.events.map((e) => e.event) };
    const { body, structures, digest } = signSubmission(unsigned, v.private_key, schemas);
    check(canonicalize(v.events_complete) === v.events_canonical, `${v.name}: events_canonical`);
    check(digest === v.submission_digest, `${v.name}: submission_digest ${digest} != ${v.submission_digest}`);
    check(structures[0].occurred_at === v.occurred_at_signed, `${v.name}: occurred_at ${structures[0].occurred_at}`);
    structures.forEach((s, i) => {
      const text = canonicalize(s);
      check(text === v.signed[i].canonical, `${v.name}: event ${i}: canonical bytes differ\n  node:   ${text}\n  vector: ${v.signed[i].canonical}`);
      check(sha256(text) === v.signed[i].canonical_sha256, `${v.name}: event ${i}: sha256`);
      check(body.events[i].signature === v.signed[i].signature, `${v.name}: event ${i}: signature`);
      check(verify(v.public_key, text, v.signed[i].signature), `${v.name}: event ${i}: verify`);
      events += 1;
    });
  }
  return { vectors: vectors.length, events };
}

async function http(url, { method = "GET", token, body } = {}) {
  const res = await fetch(url, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: res.status, json };
}

async function bundleCommand(config) {
  const { url, department_token: deptToken, auditor_token: auditorToken, private_key: seed, stream, schemas_dir } = config;
  const schemas = loadSchemas(schemas_dir);
  const decisionNo = "德市监处罚〔2026〕9号";
  // 三书同达, written as a department would: only the fields it decides, China time.
  const unsigned = {
    submission_id: config.submission_id,
    department: config.department,
    stream,
    occurred_at: "2026-01-05T10:30:00.5+08:00",
    events: [
      {
        type: "penalty_decided", decision_no: decisionNo, party_name: "德清县某某化工有限公司",
        address: "浙江省湖州市德清县武康街道某路1号", legal_representative: "张某",
        facts: "生产的产品质量抽检不合格", legal_basis: "《中华人民共和国产品质量法》第四十九条",
        penalty_types: ["罚款"], fine_yuan: "50000", authority: "德清县市场监督管理局",
        decision_date: "2026-01-05", procedure: "ordinary", rule_set: "samr-order-107",
      },
      {
        type: "compliance_advice_issued", advice_no: "德市监合规〔2026〕9号", decision_no: decisionNo,
        items: [{ item_id: "1", requirement: "建立出厂检验制度", deadline: "2026-02-27", lead_department: config.department }],
      },
      {
        type: "credit_repair_notice_issued", notice_no: `${decisionNo}-告知`, decision_no: decisionNo,
        publicity_class: "ordinary", publicity_until: "2027-01-05", earliest_repair_date: "2026-04-06",
      },
    ],
  };
  const { body } = signSubmission(unsigned, seed, schemas);
  const first = await http(`${url}/submissions`, { method: "POST", token: deptToken, body });
  check(first.status === 200 && first.json.accepted === true, `submission refused: HTTP ${first.status} ${JSON.stringify(first.json)}`);
  const receipt = first.json;
  check(receipt.events.map((e) => e.type).join() === "penalty_decided,compliance_advice_issued,credit_repair_notice_issued",
    `receipt events: ${JSON.stringify(receipt.events)}`);
  const again = await http(`${url}/submissions`, { method: "POST", token: deptToken, body });
  check(again.status === 200 && again.json.duplicate === true, `resend: ${JSON.stringify(again.json)}`);
  check(JSON.stringify(again.json.events) === JSON.stringify(receipt.events), "resend: another receipt");
  // the same id with another body: submission_id_conflict
  const altered = signSubmission({ ...unsigned, events: unsigned.events.map((e, i) => (i === 1 ? { ...e, guidance: "另一份" } : e)) }, seed, schemas).body;
  const conflict = await http(`${url}/submissions`, { method: "POST", token: deptToken, body: altered });
  check(conflict.status === 422 && conflict.json.reasons.some((r) => r.code === "submission_id_conflict"),
    `conflict: HTTP ${conflict.status} ${JSON.stringify(conflict.json)}`);

  const history = await http(`${url}/api/enterprises/${encodeURIComponent(stream)}/history?limit=100`, { token: auditorToken });
  check(history.status === 200, `history: HTTP ${history.status}`);
  const publicHex = publicKeyHex(seed);
  const mine = history.json.events.filter((e) => e.submission_id === unsigned.submission_id && e.department === unsigned.department);
  check(mine.length === 3, `read back ${mine.length} events`);
  const verified = mine.map((env, i) => {
    const r = verifyEnvelope(env, publicHex);
    check(r.signature, `event ${env.seq}: the signature read back does not verify`);
    check(r.hash, `event ${env.seq}: the hash read back does not match its bytes`);
    check(env.hash === receipt.events[i].hash && env.seq === receipt.events[i].seq, `event ${env.seq}: not the receipt's`);
    check(env.occurred_at === "2026-01-05T02:30:00.500000Z", `occurred_at stored as ${env.occurred_at}`);
    return { seq: env.seq, type: env.event.type, hash: env.hash };
  });
  // a tampered copy fails
  const tampered = { ...mine[0], event: { ...mine[0].event, fine_yuan: "5000" } };
  check(!verifyEnvelope(tampered, publicHex).signature, "a tampered event verified");
  return { accepted: true, duplicate_on_resend: true, conflict: "submission_id_conflict", verified };
}

async function main(argv) {
  const [command, ...args] = argv;
  let result;
  if (command === "vectors") result = vectorsCommand(args[0], args[1]);
  else if (command === "bundle") result = await bundleCommand(JSON.parse(args[0]));
  else throw new Error("usage: tongxiu-client.mjs vectors <vectors.json> <schemas dir> | bundle '<json config>'");
  process.stdout.write(JSON.stringify(result) + "\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`tongxiu-client: ${err.message}\n`);
    process.exit(1);
  });
}
