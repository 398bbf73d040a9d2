/**
 * The reports as a person sees them: each HTML report opened in headless Chromium, every piece
 * of text on the diagram measured where the browser actually drew it. No two may overlap, none
 * may be smaller than 11 px, and the page is screenshotted (kept in the temp directory) so a
 * person can look too.
 *
 * Needs a Chromium (see test/support/chromium.ts); where none is, each test is skipped and
 * prints why on stderr, so `npm test`'s output says what did not run.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, findChromium } from '../support/chromium.ts';
import { tempDir } from '../support/simFixture.ts';

const DOCS = fileURLToPath(new URL('../../docs/machines/', import.meta.url));
const found = findChromium();
let browser: Browser | undefined;

beforeAll(async () => {
  if ('path' in found) browser = await chromium.launch({ executablePath: found.path, args: CHROMIUM_ARGS } as never);
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

interface Box {
  text: string;
  x: number;
  y: number;
  width: number;
  height: number;
  fontSize: number;
}

describe('the HTML reports, in a browser', () => {
  it.for(['swapFulfillment', 'jobSettlement'])(
    '%s: every label readable, none overlapping another',
    async (name, context) => {
      if ('missing' in found) {
        console.warn(`NOT RUN: test/diagram/visual.test.ts > ${name}: ${found.missing}`);
        context.skip(found.missing);
      }
      const page = await browser!.newPage({ viewport: { width: 1600, height: 1000 } });
      await page.goto(pathToFileURL(join(DOCS, `${name}.html`)).href);
      const boxes: Box[] = await page.$$eval('figure svg text', (texts) =>
        texts.map((t) => {
          const r = t.getBoundingClientRect();
          return {
            text: t.textContent ?? '',
            x: r.x,
            y: r.y,
            width: r.width,
            height: r.height,
            fontSize: Number.parseFloat(
              (globalThis as unknown as { getComputedStyle(e: unknown): { fontSize: string } }).getComputedStyle(t)
                .fontSize,
            ),
          };
        }),
      );
      expect(boxes.length).toBeGreaterThan(15);
      for (const box of boxes) expect(box.fontSize, box.text).toBeGreaterThanOrEqual(11);
      const overlaps: string[] = [];
      for (let i = 0; i < boxes.length; i += 1) {
        for (let j = i + 1; j < boxes.length; j += 1) {
          const a = boxes[i]!;
          const b = boxes[j]!;
          const apart =
            a.x + a.width <= b.x + 0.5 ||
            b.x + b.width <= a.x + 0.5 ||
            a.y + a.height <= b.y + 0.5 ||
            b.y + b.height <= a.y + 0.5;
          if (!apart) overlaps.push(`'${a.text}' and '${b.text}'`);
        }
      }
      expect(overlaps).toEqual([]);
      const tables = await page.$$eval('table', (t) => t.length);
      expect(tables).toBeGreaterThanOrEqual(3);
      const shot = join(tempDir('settle-visual-'), `${name}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      expect(existsSync(shot) && statSync(shot).size).toBeGreaterThan(20_000);
      await page.close();
    },
  );
});
