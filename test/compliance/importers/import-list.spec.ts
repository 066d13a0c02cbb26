import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { importList, parseListFiles } from '../../../src/compliance/importers';
import { chunked, FIXTURES, fixture } from './fixtures';

// One-row files, ending as OFAC ends its files (CRLF, then 0x1A).
const SDN_ROW = '1,"ONE",-0- ,"SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n\x1a';
const ALT_ROW = '1,10,"aka","UNO",-0- \r\n\x1a';

describe('importList', () => {
  it('tells OFAC files apart by their names, in any case and with a .gz suffix', async () => {
    const result = await importList('ofac-sdn', [
      { name: 'ALT.CSV', stream: Readable.from([ALT_ROW]) },
      { name: 'uploads/sdn.csv.gz', stream: Readable.from([SDN_ROW]) },
    ]);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.entries, [
      {
        kind: 'name',
        id: '1',
        ref: '1',
        subject: 'ONE',
        programs: ['SDGT'],
        name: 'ONE',
        aliases: [{ name: 'UNO', kind: 'aka' }],
        type: 'entity',
        countries: [],
      },
    ]);
  });

  it('takes roles given with the file or in options for names that do not say', async () => {
    const withRole = await importList(
      'ofac-consolidated',
      [
        { name: 'upload-1', stream: Readable.from([SDN_ROW]), role: 'sdn' },
        { name: 'upload-2', stream: Readable.from([ALT_ROW]) },
      ],
      { roles: { 'upload-2': 'alt' } },
    );
    assert.deepEqual(withRole.errors, []);
    assert.equal(withRole.entries.length, 1);
    assert.equal(withRole.stats.records.alt, 1);
  });

  it('names errors after the files as given', async () => {
    const result = await importList('ofac-sdn', [
      { name: 'sdn-2024.csv', stream: Readable.from(['x,"broken\r\n\x1a']), role: 'sdn' },
    ]);
    assert.deepEqual(result.errors, [
      {
        file: 'sdn-2024.csv',
        line: 1,
        message: 'unbalanced quote: field 2 opens a quote that is not closed',
      },
    ]);
  });

  it('uses the path of a file stream as its name', async () => {
    const path = join(FIXTURES, 'sanctions', 'ofac_non_sdn_2025-12-19', 'cons_alt.csv');
    const result = await importList(
      'ofac-consolidated',
      [fixture('ofac_non_sdn_2025-12-19/cons_prim.csv'), createReadStream(path)],
      {
        roles: { 'file 1': 'sdn' },
      },
    );
    assert.deepEqual(result.errors, []);
    assert.equal(result.stats.records.alt, 1073);
  });

  it('refuses a set it cannot use, reading no more than its first bytes, and closes the streams', async () => {
    const streams = [
      Readable.from([SDN_ROW]),
      Readable.from([SDN_ROW]),
      Readable.from([ALT_ROW]),
      Readable.from(['']),
    ];
    const result = await importList('ofac-sdn', [
      { name: 'cons_prim.csv', stream: streams[0] },
      { name: 'sdn.csv', stream: streams[1] },
      { name: 'alt.csv', stream: streams[2] },
      { name: 'aliases.csv', stream: streams[3] },
    ]);
    assert.deepEqual(result.entries, []);
    assert.deepEqual(
      result.errors.map((e) => `${e.file}:${e.line} ${e.message}`),
      [
        'cons_prim.csv:0 cons_prim.csv belongs to the ofac-consolidated list; import it with format ofac-consolidated',
        'aliases.csv:0 cannot tell which OFAC file aliases.csv is: name it sdn.csv, alt.csv, add.csv, sdn_comments.csv, or give its role',
      ],
    );
    assert.equal(result.stats.errorCount, 2);
    assert.ok(streams.every((s) => s.destroyed));
  });

  it('refuses two files of one role and a set without its primary file', async () => {
    const twice = await importList('ofac-sdn', [
      { name: 'sdn.csv', stream: Readable.from([SDN_ROW]) },
      { name: 'other.csv', stream: Readable.from([SDN_ROW]), role: 'sdn' },
    ]);
    assert.deepEqual(
      twice.errors.map((e) => e.message),
      ['other.csv and sdn.csv are both the sdn file'],
    );
    const noPrimary = await importList('ofac-consolidated', [
      { name: 'cons_alt.csv', stream: Readable.from([ALT_ROW]) },
    ]);
    assert.deepEqual(
      noPrimary.errors.map((e) => e.message),
      ['no primary file (cons_prim.csv) among the files'],
    );
  });

  it('refuses gzip- and zip-compressed files by their first bytes, whatever their names', async () => {
    const plain = Buffer.from(SDN_ROW);
    const streams = [
      Readable.from([gzipSync(plain)]),
      // A zip's magic number split over two chunks.
      Readable.from([Buffer.from([0x50, 0x4b]), Buffer.from([0x03, 0x04, 0x14, 0x00])]),
    ];
    const result = await importList('ofac-sdn', [
      { name: 'sdn.csv', stream: streams[0] },
      { name: 'alt.zip', stream: streams[1], role: 'alt' },
    ]);
    assert.deepEqual(result.entries, []);
    assert.deepEqual(
      result.errors.map((e) => `${e.file}:${e.line} ${e.message}`),
      [
        'sdn.csv:0 sdn.csv is gzip-compressed; compressed files are not accepted: decompress it first',
        'alt.zip:0 alt.zip is zip-compressed; compressed files are not accepted: decompress it first',
      ],
    );
    assert.ok(streams.every((s) => s.destroyed));
    for (const format of ['un-xml', 'csv', 'json'] as const) {
      const one = await importList(format, [{ name: 'list', stream: Readable.from([gzipSync(plain)]) }]);
      assert.match(
        one.errors[0]?.message ?? '',
        /gzip-compressed; compressed files are not accepted/,
        format,
      );
    }
  });

  it('reads a file whose first bytes come one at a time', async () => {
    const result = await importList('ofac-sdn', [{ name: 'sdn.csv', stream: chunked(SDN_ROW, 1) }]);
    assert.deepEqual(result.errors, []);
    assert.equal(result.entries.length, 1);
  });

  for (const format of ['ofac-sdn', 'un-xml', 'csv'] as const) {
    it(`reports a ${format} stream that fails mid-way as an error, not a throw`, async () => {
      let sent = false;
      const failing = new Readable({
        read() {
          if (sent) {
            this.destroy(new Error('connection reset'));
          } else {
            sent = true;
            this.push(format === 'un-xml' ? '<CONSOLIDATED_LIST>\n' : 'kind,country\n');
          }
        },
      });
      const name = format === 'ofac-sdn' ? 'sdn.csv' : format === 'un-xml' ? 'list.xml' : 'list.csv';
      const result = await importList(format, [{ name, stream: failing }]);
      const last = result.errors.at(-1);
      assert.equal(last?.file, name);
      assert.match(last?.message ?? '', /^reading stopped: connection reset$/);
      assert.equal(result.stats.errorCount, result.errors.length);
    });
  }

  it('refuses an import of no files', async () => {
    const result = await importList('csv', []);
    assert.deepEqual(result.errors, [{ file: '', line: 0, message: 'no files to import' }]);
  });

  it('is what list maintenance injects as parseList', async () => {
    const result = await parseListFiles('json', [
      { name: 'k.jsonl', stream: Readable.from(['{"kind":"jurisdiction","country":"KP"}']) },
    ]);
    assert.deepEqual(
      result.entries.map((e) => e.id),
      ['jurisdiction/KP'],
    );
  });
});
