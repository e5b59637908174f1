/**
 * HTTPS for the API: the certificate and private key (FLEET_API_TLS_CERT / FLEET_API_TLS_KEY, PEM
 * files) read and checked once at start, so a wrong file stops start-up with a message naming the
 * variable rather than failing at the first handshake; and HSTS on every answer served over TLS.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';

/** What Fastify's `https` option gets (createApi's `https`). */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/** A certificate or key file the operator has to fix: its message names the variable; no stack is worth showing. */
export class TlsFileError extends Error {
  override name = 'TlsFileError';
}

/** One year: browsers remember to use HTTPS only for this host (no includeSubDomains: the API does not speak for its siblings). */
export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000';

function readFile(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'a directory, not a file'
            : message;
    throw new TlsFileError(`${variable}: cannot read ${resolve(path)} (${why})`);
  }
}

/**
 * Reads the two PEM files and checks that the first is a certificate, the second an unencrypted
 * private key, and that they belong together. Answers them as createApi's `https`, with the
 * certificate's subject and expiry for the start-up log.
 */
export function readTlsFiles(paths: { cert: string; key: string }): {
  https: TlsFiles;
  subject: string;
  validTo: Date;
} {
  const cert = readFile('FLEET_API_TLS_CERT', paths.cert);
  const key = readFile('FLEET_API_TLS_KEY', paths.key);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new TlsFileError(
      `FLEET_API_TLS_CERT: ${resolve(paths.cert)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    const encrypted = /passphrase/i.test((err as Error).message);
    throw new TlsFileError(
      encrypted
        ? `FLEET_API_TLS_KEY: the private key in ${resolve(paths.key)} is encrypted; give it unencrypted (openssl pkey -in KEY -out KEY.plain), readable by the API only`
        : `FLEET_API_TLS_KEY: ${resolve(paths.key)} holds no PEM private key (-----BEGIN PRIVATE KEY-----)`,
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TlsFileError(
      `FLEET_API_TLS_KEY: the private key in ${resolve(paths.key)} does not belong to the certificate in ${resolve(paths.cert)} (FLEET_API_TLS_CERT)`,
    );
  }
  return {
    https: { cert, key },
    subject: certificate.subject.replace(/\n/g, ', '),
    validTo: new Date(certificate.validTo),
  };
}

/** `strict-transport-security` on every answer (errors and 404s included): set before any route or hook answers. */
export function addStrictTransportSecurity(app: FastifyInstance): void {
  app.addHook('onRequest', (_request, reply, done) => {
    void reply.header('strict-transport-security', STRICT_TRANSPORT_SECURITY);
    done();
  });
}
