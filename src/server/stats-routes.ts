// What the stats port answers, by path. distccd answers any request with its
// <distccstats> text (distcc src/stats.c), and old tools may ask for any
// path: every path but the few below still gets that page, byte for byte.

import { asciiJson } from '../logging/escape.js';
import type { ServerContext } from './context.js';
import type { JobHistory } from './job-history.js';
import { jobsSnapshot } from './jobs-json.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics-text.js';
import { UI_CSP, UI_PAGE } from './ui-page.js';

/**
 * The request line's method and path (query and fragment cut off), and the
 * authority of an absolute-form target (`GET http://NAME:PORT/path`).
 */
export type RequestHead = { method: string; path: string; authority?: string };

const REQUEST_LINE = /^([A-Z]+) (\S+)(?: HTTP\/\d\.\d)?\r?$/;

/**
 * The request line, from the bytes read so far: undefined while the first
 * line is not complete, null if it is not an HTTP request line.
 */
export function parseRequestHead(head: Buffer): RequestHead | null | undefined {
  const eol = head.indexOf(0x0a);
  if (eol === -1) return undefined;
  const m = head.subarray(0, eol).toString('latin1').match(REQUEST_LINE);
  if (!m) return null;
  const target = m[2]!;
  // An absolute-form target (proxies): keep its path; its authority is checked as Host.
  const absolute = target.match(/^[a-z]+:\/\/([^/?#]*)/i);
  const path = (absolute ? target.slice(absolute[0].length) : target) || '/';
  return {
    method: m[1]!,
    path: path.split(/[?#]/)[0]!,
    ...(absolute ? { authority: absolute[1]! } : {}),
  };
}

/** Whether the whole request head (up to the empty line) is in. */
export function headComplete(head: Buffer): boolean {
  return head.includes('\r\n\r\n') || head.includes('\n\n');
}

function response(status: string, type: string, body: string, extra: string[] = []): Buffer {
  const bytes = Buffer.from(body, 'utf8');
  const head = [
    `HTTP/1.0 ${status}`,
    `Content-Type: ${type}`,
    `Content-Length: ${bytes.length}`,
    'Cache-Control: no-store',
    'X-Content-Type-Options: nosniff',
    ...extra,
    'Connection: close',
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), bytes]);
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** The answer to a request for another machine's name (stats-host.ts). */
export function misdirected(head: RequestHead | null | undefined): Buffer {
  const res = response(
    '421 Misdirected Request',
    'text/plain; charset=utf-8',
    'This is the stats port of a tsdistccd: ask it by its address or host name.\n',
  );
  if (head?.method !== 'HEAD') return res;
  return res.subarray(0, res.indexOf('\r\n\r\n') + 4);
}

/** The answer to one request; `head` null or undefined gets distccd's page. */
export function answer(
  head: RequestHead | null | undefined,
  ctx: ServerContext,
  history: JobHistory,
): Buffer {
  const path = head?.path.replace(/\/+$/, '') ?? '';
  let res: Buffer;
  switch (path) {
    // JSON keeps the client's names exact for programs, but in ASCII-only
    // text: `curl` to a terminal shows no raw control or bidi character. The
    // views (tsdistccmon, /ui) escape them with escapeLog as they show them.
    case '/jobs':
      res = response('200 OK', JSON_TYPE, `${asciiJson(jobsSnapshot(ctx))}\n`);
      break;
    case '/history':
      res = response('200 OK', JSON_TYPE, `${asciiJson(history.snapshot())}\n`);
      break;
    case '/metrics':
      res = response('200 OK', METRICS_CONTENT_TYPE, renderMetrics(ctx));
      break;
    case '/ui':
      res = response('200 OK', 'text/html; charset=utf-8', UI_PAGE, [
        `Content-Security-Policy: ${UI_CSP}`,
        'Referrer-Policy: no-referrer',
      ]);
      break;
    default:
      // distccd's own bytes: bare LF, no length. HEAD gets them too, as from distccd.
      return Buffer.from(ctx.stats.render(ctx.queue.running));
  }
  if (head?.method !== 'HEAD') return res;
  return res.subarray(0, res.indexOf('\r\n\r\n') + 4);
}
