// Interop with panva/jose, an independent and widely used JOSE library.
//
//   node interop.mjs fixtures DIR   mint keys and nested JWEs with jose into DIR
//                                   (config.json in jwe-authn's format, tokens.json)
//   node interop.mjs kat DIR        known answers from fixed keys into DIR/jose.json
//   node interop.mjs verify FILE    decrypt and verify tokens minted by jwe-authn,
//                                   one line per token; exit 1 if any fails
//
// The fixtures are committed (tests/fixtures/interop) and checked by
// tests/interop.rs; `verify` is run by the same test on tokens our CLI mints.
import * as jose from 'jose';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const ISSUER = 'https://idp.interop.example';
// HMAC-signed tokens come from their own issuer: jwe-authn refuses a
// provider key set that mixes shared secrets with public keys.
const ISSUER_HMAC = 'https://idp-hmac.interop.example';
// Encrypt-then-sign tokens (a JWS around a JWE of the claims, RFC 7519 §5.2)
// come from a provider whose `nesting` enables that order.
const ISSUER_ETS = 'https://idp-ets.interop.example';
const CLAIMS = { iss: ISSUER, sub: 'interop-user', aud: 'orders-api', exp: 4102444800, iat: 1700000000, scope: 'read write' };

const JWE_ALGS = ['dir', 'A128KW', 'A192KW', 'A256KW', 'A128GCMKW', 'A192GCMKW', 'A256GCMKW',
  'RSA-OAEP', 'RSA-OAEP-256', 'RSA-OAEP-384', 'RSA-OAEP-512',
  'ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A192KW', 'ECDH-ES+A256KW'];
const ENCS = ['A128GCM', 'A192GCM', 'A256GCM', 'A128CBC-HS256', 'A192CBC-HS384', 'A256CBC-HS512'];
const SIGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'HS256', 'HS384', 'HS512'];
const CURVES = ['P-256', 'P-384', 'P-521', 'X25519'];
const ENC_BYTES = { A128GCM: 16, A192GCM: 24, A256GCM: 32, 'A128CBC-HS256': 32, 'A192CBC-HS384': 48, 'A256CBC-HS512': 64 };

async function keyPair(kind, kid) {
  const options = { extractable: true };
  let pair;
  if (kind === 'RSA') pair = await jose.generateKeyPair('RSA-OAEP-256', { ...options, modulusLength: 2048 });
  else if (kind === 'X25519') pair = await jose.generateKeyPair('ECDH-ES', { ...options, crv: 'X25519' });
  else if (kind === 'Ed25519') pair = await jose.generateKeyPair('Ed25519', options);
  else pair = await jose.generateKeyPair('ECDH-ES', { ...options, crv: kind });
  const privateJwk = { ...(await jose.exportJWK(pair.privateKey)), kid };
  const publicJwk = { ...(await jose.exportJWK(pair.publicKey)), kid };
  return { privateJwk, publicJwk };
}

function octJwk(bytes, kid) {
  const k = crypto.getRandomValues(new Uint8Array(bytes));
  return { kty: 'oct', k: jose.base64url.encode(k), kid };
}

function sigKeyKind(sig) {
  if (sig.startsWith('RS') || sig.startsWith('PS')) return 'RSA';
  return { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521', EdDSA: 'Ed25519', Ed25519: 'Ed25519' }[sig];
}

function encKeyName(alg, enc, curve) {
  if (alg === 'dir') return `oct${ENC_BYTES[enc] * 8}`;
  const m = alg.match(/^A(\d+)(GCM)?KW$/);
  if (m) return `oct${m[1]}`;
  if (alg.startsWith('RSA-OAEP')) return 'RSA';
  return curve;
}

/** Every alg (every curve for ECDH-ES*) with a rotating enc and sig, then every enc and every sig once more. */
function cases() {
  const out = [];
  let i = 0;
  for (const alg of JWE_ALGS) {
    for (const curve of alg.startsWith('ECDH-ES') ? CURVES : ['P-256']) {
      out.push({ alg, enc: ENCS[i % ENCS.length], sig: SIGS[i % SIGS.length], curve });
      i += 1;
    }
  }
  for (const enc of ENCS) out.push({ alg: 'ECDH-ES', enc, sig: 'ES256', curve: 'X25519' });
  for (const sig of SIGS) out.push({ alg: 'A256KW', enc: 'A256GCM', sig, curve: 'P-256' });
  // The other nesting order: every asymmetric sig once, with a rotating alg.
  const etsAlgs = [['ECDH-ES+A256KW', 'X25519'], ['ECDH-ES', 'P-256'], ['RSA-OAEP-256', 'P-256'], ['A128KW', 'P-256'], ['dir', 'P-256']];
  SIGS.filter((sig) => !sig.startsWith('HS')).forEach((sig, j) => {
    const [alg, curve] = etsAlgs[j % etsAlgs.length];
    out.push({ alg, enc: ENCS[j % ENCS.length], sig, curve, nesting: 'encrypt_then_sign' });
  });
  return out;
}

/** Encrypt-then-sign: the claims as a JWE (no cty), that JWE signed with cty JWT. */
async function encryptThenSign(claims, c, signer, recipient) {
  const jwe = await new jose.CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: c.alg, enc: c.enc, kid: recipient.publicJwk.kid })
    .encrypt(await importFor(recipient.publicJwk, c.alg));
  return new jose.CompactSign(new TextEncoder().encode(jwe))
    .setProtectedHeader({ alg: c.sig, typ: 'JWT', cty: 'JWT', kid: signer.privateJwk.kid })
    .sign(await importFor(signer.privateJwk, c.sig));
}

async function importFor(jwk, alg) {
  return jwk.kty === 'oct' ? jose.base64url.decode(jwk.k) : jose.importJWK(jwk, alg);
}

async function fixtures(dir) {
  const enc = {};
  const sig = {};
  for (const kind of ['RSA', 'P-256', 'P-384', 'P-521', 'X25519']) enc[kind] = await keyPair(kind, `enc-${kind}`);
  for (const bits of [128, 192, 256, 384, 512]) {
    const jwk = octJwk(bits / 8, `enc-oct${bits}`);
    enc[`oct${bits}`] = { privateJwk: jwk, publicJwk: jwk };
  }
  for (const kind of ['RSA', 'P-256', 'P-384', 'P-521', 'Ed25519']) sig[kind] = await keyPair(kind, `sig-${kind}`);
  for (const [name, bytes] of [['HS256', 32], ['HS384', 48], ['HS512', 64]]) {
    const jwk = octJwk(bytes, `sig-${name}`);
    sig[name] = { privateJwk: jwk, publicJwk: jwk };
  }
  const tokens = [];
  for (const c of cases()) {
    const signer = sig[c.sig.startsWith('HS') ? c.sig : sigKeyKind(c.sig)];
    const recipient = enc[encKeyName(c.alg, c.enc, c.curve)];
    if (c.nesting === 'encrypt_then_sign') {
      const token = await encryptThenSign({ ...CLAIMS, iss: ISSUER_ETS }, c, signer, recipient);
      tokens.push({ name: `ets/${c.alg}/${c.curve}/${c.enc}/${c.sig}`, ...c, token });
      continue;
    }
    const claims = c.sig.startsWith('HS') ? { ...CLAIMS, iss: ISSUER_HMAC } : CLAIMS;
    const jws = await new jose.SignJWT(claims)
      .setProtectedHeader({ alg: c.sig, typ: 'JWT', kid: signer.privateJwk.kid })
      .sign(await importFor(signer.privateJwk, c.sig));
    const token = await new jose.CompactEncrypt(new TextEncoder().encode(jws))
      .setProtectedHeader({ alg: c.alg, enc: c.enc, kid: recipient.publicJwk.kid, cty: 'JWT' })
      .encrypt(await importFor(recipient.publicJwk, c.alg));
    tokens.push({ name: `${c.alg}/${c.curve}/${c.enc}/${c.sig}`, ...c, token });
  }
  const strip = ({ alg, use, key_ops, ext, ...rest }) => rest;
  const config = {
    decryption_keys: { keys: Object.values(enc).map((k) => strip(k.privateJwk)) },
    providers: {
      interop: { issuer: ISSUER, audiences: ['orders-api'], local_jwks: { keys: Object.values(sig).filter((k) => k.publicJwk.kty !== 'oct').map((k) => strip(k.publicJwk)) } },
      'interop-hmac': { issuer: ISSUER_HMAC, audiences: ['orders-api'], local_jwks: { keys: Object.values(sig).filter((k) => k.publicJwk.kty === 'oct').map((k) => strip(k.publicJwk)) } },
      'interop-ets': { issuer: ISSUER_ETS, audiences: ['orders-api'], nesting: ['encrypt_then_sign'], local_jwks: { keys: Object.values(sig).filter((k) => k.publicJwk.kty !== 'oct').map((k) => strip(k.publicJwk)) } },
    },
    clock_skew_seconds: 60,
    require_expiration: true,
    max_token_bytes: 16384,
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  writeFileSync(join(dir, 'tokens.json'), JSON.stringify({ generator: `jose ${'6.2.17'}`, claims: CLAIMS, tokens }, null, 2) + '\n');
  console.log(`wrote ${tokens.length} tokens to ${dir}`);
}

async function verify(file) {
  const input = JSON.parse(readFileSync(file, 'utf8'));
  const byKid = (keys) => Object.fromEntries(keys.map((k) => [k.kid, k]));
  const decryption = byKid(input.decryption_keys);
  const verification = byKid(input.verification_keys);
  let failed = 0;
  for (const { name, token, iss } of input.tokens) {
    try {
      if (token.split('.').length === 3) {
        // Encrypt-then-sign: verify the outer JWS, then decrypt its payload.
        const outer = await jose.compactVerify(token, (h) => importFor(verification[h.kid], h.alg), { algorithms: SIGS });
        if (outer.protectedHeader.cty !== 'JWT') throw new Error('outer cty is not JWT');
        const inner = await jose.compactDecrypt(new TextDecoder().decode(outer.payload), (h) => importFor(decryption[h.kid], h.alg), {
          keyManagementAlgorithms: JWE_ALGS,
          contentEncryptionAlgorithms: ENCS,
        });
        const claims = JSON.parse(new TextDecoder().decode(inner.plaintext));
        if (claims.iss !== (iss ?? input.expected.iss)) throw new Error(`iss is ${claims.iss}`);
        if (claims.aud !== input.expected.aud) throw new Error(`aud is ${claims.aud}`);
        if (claims.sub !== input.expected.sub) throw new Error(`sub is ${claims.sub}`);
        console.log(`ok ${name}`);
        continue;
      }
      const { plaintext, protectedHeader } = await jose.compactDecrypt(token, (h) => importFor(decryption[h.kid], h.alg), {
        keyManagementAlgorithms: JWE_ALGS,
        contentEncryptionAlgorithms: ENCS,
      });
      if (protectedHeader.cty !== 'JWT') throw new Error('cty is not JWT');
      const jws = new TextDecoder().decode(plaintext);
      const { payload } = await jose.jwtVerify(jws, (h) => importFor(verification[h.kid], h.alg), {
        algorithms: SIGS,
        issuer: input.expected.iss,
        audience: input.expected.aud,
      });
      if (payload.sub !== input.expected.sub) throw new Error(`sub is ${payload.sub}`);
      console.log(`ok ${name}`);
    } catch (e) {
      failed += 1;
      console.log(`FAIL ${name}: ${e.message}`);
    }
  }
  console.log(`${input.tokens.length - failed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

// Known answers from fixed keys, for the hermetic tests (tests/hermetic/kat.rs):
// RFC 8037 A.1's Ed25519 key signs with the fully specified `Ed25519` (RFC 9864);
// Ed25519 is deterministic, so the inner JWS is a known answer, and the token
// around it (A256KW with a fixed key) must decrypt to exactly it.
const RFC8037_ED25519 = { kty: 'OKP', crv: 'Ed25519', kid: 'rfc8037-a1', d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };
const KAT_ENC = { kty: 'oct', kid: 'kat-a256kw', k: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8' };
const KAT_CLAIMS = { iss: 'https://idp.kat.example', sub: 'kat-user', aud: 'orders-api', exp: 4102444800, iat: 1700000000 };

async function kat(dir) {
  const { d, ...publicJwk } = RFC8037_ED25519;
  const signer = await jose.importJWK(RFC8037_ED25519, 'Ed25519');
  const detached = await new jose.CompactSign(new TextEncoder().encode('Example of Ed25519 signing'))
    .setProtectedHeader({ alg: 'Ed25519' })
    .sign(signer);
  const jws = await new jose.SignJWT(KAT_CLAIMS)
    .setProtectedHeader({ alg: 'Ed25519', typ: 'JWT', kid: RFC8037_ED25519.kid })
    .sign(signer);
  const token = await new jose.CompactEncrypt(new TextEncoder().encode(jws))
    .setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM', kid: KAT_ENC.kid, cty: 'JWT' })
    .encrypt(jose.base64url.decode(KAT_ENC.k));
  // Encrypt-then-sign: the claims as a JWE (no cty), then signed (cty JWT).
  const etsClaims = { ...KAT_CLAIMS, iss: 'https://idp-ets.kat.example' };
  const etsJwe = await new jose.CompactEncrypt(new TextEncoder().encode(JSON.stringify(etsClaims)))
    .setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM', kid: KAT_ENC.kid })
    .encrypt(jose.base64url.decode(KAT_ENC.k));
  const etsToken = await new jose.CompactSign(new TextEncoder().encode(etsJwe))
    .setProtectedHeader({ alg: 'Ed25519', typ: 'JWT', cty: 'JWT', kid: RFC8037_ED25519.kid })
    .sign(signer);
  const out = {
    generator: 'jose 6.2.17 (node tests/interop/interop.mjs kat tests/fixtures/kat)',
    ed25519: {
      source: 'RFC 8037 A.1 key; alg Ed25519 (RFC 9864 §2.2); A.4 payload',
      key: publicJwk,
      payload: 'Example of Ed25519 signing',
      jws: detached,
      decryption_key: KAT_ENC,
      claims: KAT_CLAIMS,
      inner_jws: jws,
      token,
    },
    encrypt_then_sign: {
      source: 'RFC 7519 §5.2 encrypt-then-sign: a JWS (Ed25519, RFC 8037 A.1 key, cty JWT) whose payload is a JWE (A256KW/A256GCM) of the claims',
      key: publicJwk,
      decryption_key: KAT_ENC,
      claims: etsClaims,
      inner_jwe: etsJwe,
      token: etsToken,
    },
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'jose.json'), JSON.stringify(out, null, 2) + '\n');
  console.log(`wrote ${join(dir, 'jose.json')}`);
}

const [mode, path] = process.argv.slice(2);
if (mode === 'fixtures' && path) await fixtures(path);
else if (mode === 'kat' && path) await kat(path);
else if (mode === 'verify' && path) await verify(path);
else {
  console.error('usage: node interop.mjs fixtures DIR | kat DIR | verify FILE');
  process.exit(2);
}
