import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { jobSettlement, machineCatalog, swapFulfillment } from '../../machines/index.ts';
import { COVERAGE_FORMAT, CoverageRecorder, type CoverageFile } from '../../src/diagram/coverage.ts';
import { machineModel, transitionDefinitions } from '../../src/diagram/machineModel.ts';
import { DIAGRAM_FORMATS, EXTENSIONS, renderDiagram } from '../../src/diagram/render.ts';
import { tempDir } from '../support/simFixture.ts';

const DOCS = fileURLToPath(new URL('../../docs/machines/', import.meta.url));
const BIN = fileURLToPath(new URL('../../src/cli/settle.mjs', import.meta.url));
const settle = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('settle diagram', () => {
  it.each(Object.keys(machineCatalog))('docs/machines holds the current Mermaid, SVG and HTML of %s', async (name) => {
    const machine = machineCatalog[name as keyof typeof machineCatalog].machine;
    for (const format of ['mermaid', 'svg', 'html'] as const) {
      const file = join(DOCS, `${name}.${EXTENSIONS[format]}`);
      expect(readFileSync(file, 'utf8'), `${file} is out of date with the machine: run npm run diagrams`).toBe(
        await renderDiagram(machine, format),
      );
    }
  });

  it('labels every transition `event [guard] / effect`, marks effect, final and recovery states', async () => {
    const mermaid = await renderDiagram(swapFulfillment, 'mermaid');
    for (const t of machineModel(swapFulfillment).transitions)
      expect(mermaid).toContain(`${t.from} --> ${t.to ?? t.from} : ${t.event}`);
    expect(mermaid).toContain('Pending --> Verifying : CLOCK / verifyDeposit');
    expect(mermaid).toContain('Pending --> Expired : CLOCK [cushionReached]');
    expect(mermaid).toContain('Marking --> Reconciling : MARK_FAILED [markOutcomeUnknown] / readSwap');
    expect(mermaid).toContain('state "Sending\\n⚡ sendTransfer" as Sending');
    expect(mermaid).toContain('class Verifying,Sending,Marking,Following,Reconciling effect');
    expect(mermaid).toContain('class Fulfilled,Expired,Rejected final');
    expect(mermaid).toContain('class Recovery recovery');
    for (const final of ['Fulfilled', 'Expired', 'Rejected', 'Recovery']) expect(mermaid).toContain(`${final} --> [*]`);
    const svg = await renderDiagram(jobSettlement, 'svg');
    expect(svg).toContain('class="state state-recovery" data-state="Cancelled"');
    expect(svg).toContain('class="state state-effect" data-state="Claiming"');
    expect(svg.match(/class="transition"/g)).toHaveLength(transitionDefinitions(jobSettlement).size + 1); // + the initial arrow
  });

  it('gives the JSON model of every state and transition, with guards, effects and durable points', async () => {
    const model = JSON.parse(await renderDiagram(swapFulfillment, 'json')) as ReturnType<typeof machineModel>;
    expect(model.transitions).toHaveLength(transitionDefinitions(swapFulfillment).size);
    expect(model.states.find((s) => s.name === 'Sending')).toMatchObject({
      effect: 'sendTransfer',
      durableBefore: expect.stringContaining('signed transfer'),
    });
    expect(model.transitions.find((t) => t.key === 'Marking --MARK_FAILED#1--> Sent')).toMatchObject({
      guard: 'markFailedTransiently',
      actions: ['scheduleMarkRetry'],
    });
  });

  it('is the same, byte for byte, every time', async () => {
    expect(await renderDiagram(swapFulfillment, 'svg')).toBe(await renderDiagram(swapFulfillment, 'svg'));
  });

  it('colours the diagram by coverage: counts on every transition, the ones never taken in red', async () => {
    const recorder = new CoverageRecorder();
    const file: CoverageFile = recorder.file('test');
    const counts = { ...file.machines['swapFulfillment']!, 'Pending --CLOCK#1--> Verifying': 12 };
    const coverage: CoverageFile = { format: COVERAGE_FORMAT, source: 'a test', machines: { swapFulfillment: counts } };
    const svg = await renderDiagram(swapFulfillment, 'svg', coverage);
    expect(svg).toContain('CLOCK / verifyDeposit (×12)');
    expect(svg).toContain('class="transition never-taken" data-transition="Pending --SWAP_GONE#0--&gt; Expired"');
    expect(svg).not.toContain('class="transition never-taken" data-transition="Pending --CLOCK#1--&gt; Verifying"');
    expect(await renderDiagram(swapFulfillment, 'mermaid', coverage)).toContain(
      'Pending --> Expired : SWAP_GONE (never taken)',
    );
    const html = await renderDiagram(swapFulfillment, 'html', coverage);
    expect(html).toContain('<td class="never">never</td>');
    expect(html).toContain('Transition counts from <code>a test</code>');
  });

  it('reads coverage written by settle sim --coverage', () => {
    const dir = tempDir('settle-diagram-');
    const coverage = join(dir, 'coverage.json');
    expect(settle(['sim', '--runs', '3', '--swaps', '3', '--jobs', '3', '--coverage', coverage]).status).toBe(0);
    const written = JSON.parse(readFileSync(coverage, 'utf8')) as CoverageFile;
    expect(written.source).toBe('settle sim --seed 1 --runs 3 --swaps 3 --jobs 3 --faults all');
    expect(written.machines['swapFulfillment']!['Pending --CLOCK#1--> Verifying']).toBeGreaterThan(0);
    expect(written.machines['swapFulfillment']!['Verifying --DEPOSIT_VERIFIED#0--> Sending']).toBeGreaterThan(0);
    const out = settle([
      'diagram',
      '--machine',
      'swapFulfillment',
      '--format',
      'all',
      '--out',
      join(dir, 'out'),
      '--coverage',
      coverage,
    ]);
    expect(out.status).toBe(0);
    for (const format of DIAGRAM_FORMATS)
      expect(readFileSync(join(dir, 'out', `swapFulfillment.${EXTENSIONS[format]}`), 'utf8').length).toBeGreaterThan(
        100,
      );
  });

  it('names what is wrong with its arguments and its coverage file', () => {
    expect(settle(['diagram', '--machine', 'payroll'])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining("unknown machine 'payroll'"),
    });
    expect(settle(['diagram', '--format', 'pdf', '--machine', 'swapFulfillment'])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining("unknown format 'pdf'"),
    });
    expect(settle(['diagram', '--format', 'all'])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('give --out DIR'),
    });
    const bad = join(tempDir('settle-diagram-'), 'bad.json');
    writeFileSync(bad, '{"hello":1}');
    expect(settle(['diagram', '--machine', 'swapFulfillment', '--coverage', bad])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('not a settle coverage file'),
    });
    const mermaid = settle(['diagram', '--machine', 'jobSettlement']);
    expect(mermaid.status).toBe(0);
    expect(mermaid.stdout.startsWith('stateDiagram-v2')).toBe(true);
  });
});
