/**
 * Reading and posting pages as a browser does, for the page tests: the session's CSRF token,
 * form posts, following a 303, and the small readers of the answer (the alert's code, the
 * notice, a section, a form, a text area, the text without tags).
 */
import { expect } from '@jest/globals';
import type request from 'supertest';
import { csrfFrom, type Agent } from './auth.js';

/** The CSRF token and form post of a session, its token read from `tokenPage` (every signed-in page carries one). */
export function forms(tokenPage: string) {
  const csrf = async (agent: Agent, path = tokenPage): Promise<string> => {
    const res = await agent.get(path);
    expect(res.status).toBe(200);
    return csrfFrom(res.text);
  };
  /** Post a form the way a browser would, with the session's token. */
  const post = async (agent: Agent, path: string, body: Record<string, string | string[]>) =>
    agent
      .post(path)
      .type('form')
      .send({ _csrf: await csrf(agent), ...body });
  return { csrf, post };
}

/** Follow a 303 and take the page (and its one-time notice). */
export async function follow(agent: Agent, res: request.Response) {
  expect(res.status).toBe(303);
  return agent.get(res.headers.location as string);
}

/** The code of the page's alert (`data-code`), or null. */
export const alertCode = (html: string) => /role="alert"[^>]*data-code="([^"]*)"/.exec(html)?.[1] ?? null;
/** The one-time notice after a change, or null. */
export const notice = (html: string) => /<p class="notice" role="status">([^<]*)<\/p>/.exec(html)?.[1] ?? null;

/** The HTML of one section, from its heading id to the end of the section ('' when absent). */
export const section = (html: string, id: string) => {
  const start = html.indexOf(`id="${id}"`);
  return start < 0 ? '' : html.slice(start, html.indexOf('</section>', start));
};

/** The HTML of the form posting to `action`, with or without a query or fragment ('' when the page has none; not `action/more`). */
export const formOf = (html: string, action: string) => {
  const start = [`action="${action}"`, `action="${action}?`, `action="${action}#`]
    .map((a) => html.indexOf(a))
    .filter((i) => i >= 0)
    .reduce((a, b) => Math.min(a, b), Infinity);
  return start === Infinity ? '' : html.slice(start, html.indexOf('</form>', start));
};

/** The text of a text area as the browser shows it (entities decoded), or undefined. */
export const textareaOf = (html: string, id: string) => {
  const m = new RegExp(`<textarea id="${id}"[^>]*>\\n?([\\s\\S]*?)</textarea>`).exec(html);
  return m
    ? m[1]
        .replace(/&#39;/g, "'")
        .replace(/&#34;|&quot;/g, '"')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&')
    : undefined;
};

/** The text of the HTML with tags dropped and whitespace collapsed. */
export const plain = (html: string) =>
  html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&#34;|&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

/** The HTML inside a text area as the page wrote it (entities kept), or undefined. */
export const textareaHtml = (html: string, id: string) =>
  new RegExp(`<textarea id="${id}"[^>]*>\\n?([\\s\\S]*?)</textarea>`).exec(html)?.[1];
