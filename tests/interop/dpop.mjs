// DPoP proofs made by an independent client library: npm `dpop` (panva,
// the one `oauth4webapi` uses), pinned in package-lock.json.
//
//   node dpop.mjs ALG
//
// makes a key pair for ALG and prints one line: {"jkt": "<RFC 7638
// thumbprint>"} (the access token's `cnf.jkt`); then, for each line
// `METHOD URL ACCESS_TOKEN` read from stdin, prints one line: a new proof
// for that request, signed with the same key.
import * as DPoP from 'dpop';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { createInterface } from 'node:readline';

const alg = process.argv[2];
if (!alg) {
  console.error('usage: node dpop.mjs ALG');
  process.exit(2);
}
const keypair = await DPoP.generateKeyPair(alg);
const jwk = await exportJWK(keypair.publicKey);
console.log(JSON.stringify({ jkt: await calculateJwkThumbprint(jwk, 'sha256') }));

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const [method, url, token] = line.trim().split(' ');
  if (!token) continue;
  console.log(await DPoP.generateProof(keypair, url, method, undefined, token));
}
