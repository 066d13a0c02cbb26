import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');
const BUF = path.join(ROOT, 'node_modules', '.bin', 'buf');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full).map((f) => path.join(name, f)) : [name];
  });
}

describe('the proto/ API contract', function () {
  this.timeout(60_000);

  it('passes buf lint', async () => {
    await run(BUF, ['lint'], { cwd: ROOT });
  });

  it('makes no breaking change against the published baseline (test/fixtures/api-baseline.binpb)', async () => {
    await run(BUF, ['breaking', '--against', 'test/fixtures/api-baseline.binpb'], { cwd: ROOT });
  });

  it('matches the generated code committed in src/gen (run `npm run generate` after editing proto/)', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'caravan-gen-'));
    try {
      await run(BUF, ['generate', '--output', out], { cwd: ROOT });
      await run(BUF, ['build', '--output', path.join(out, 'src', 'gen', 'caravan.binpb')], { cwd: ROOT });
      const fresh = path.join(out, 'src', 'gen');
      const committed = path.join(ROOT, 'src', 'gen');
      assert.deepEqual(filesUnder(fresh).sort(), filesUnder(committed).sort());
      for (const file of filesUnder(fresh)) {
        assert.ok(
          readFileSync(path.join(fresh, file)).equals(readFileSync(path.join(committed, file))),
          `src/gen/${file} is stale: run npm run generate`,
        );
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
