// The cdx-test device is described once, in fixtures/cdx-test-devices.json: the VM's simulated
// controller gets its register map generated at kernel build time, the mock's model and the C++
// self-test from generated headers that are committed (they must build without the scripts). This
// keeps them from drifting apart.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fixtureDevices } from '../../lib/mock';
import { nodeCommand } from '../helpers/node-exec';

const ROOT = path.join(__dirname, '..', '..', '..');
const GEN = path.join(ROOT, 'scripts', 'vm', 'gen-sim-header.js');

describe('the cdx-test register map (fixtures/cdx-test-devices.json)', function () {
  it('src-native/mock/cdx_test_regs.h is what the generator makes from the fixture now', function () {
    const fresh = execFileSync(...nodeCommand([GEN, '--mock']), { encoding: 'utf8' });
    const committed = readFileSync(path.join(ROOT, 'src-native', 'mock', 'cdx_test_regs.h'), 'utf8');
    assert.equal(committed, fresh, 'regenerate it: node scripts/vm/gen-sim-header.js --mock > src-native/mock/cdx_test_regs.h');
  });

  it('the kernel header and the mock header carry the same offsets', function () {
    const sim = execFileSync(...nodeCommand([GEN]), { encoding: 'utf8' });
    const mock = execFileSync(...nodeCommand([GEN, '--mock']), { encoding: 'utf8' });
    const simRegs = [...sim.matchAll(/#define CDX_SIM_REG_(\w+)\s+(0x[0-9a-f]+)/g)].map((m) => [m[1], Number(m[2])]);
    const mockRegs = [...mock.matchAll(/kReg(\w+)\s+= (0x[0-9a-f]+)/g)].map((m) => [m[1]!.replace(/[A-Z]/g, (c, i) => (i ? '_' : '') + c).toUpperCase(), Number(m[2])]);
    assert.ok(simRegs.length >= 17);
    assert.deepEqual(mockRegs, simRegs);
  });
});

describe('the fixture\'s devices (fixtures/cdx-test-devices.json)', function () {
  it('src-native/mock/cdx_test_fixture.h is what the generator makes from the fixture now', function () {
    const fresh = execFileSync(...nodeCommand([GEN, '--mock-fixture']), { encoding: 'utf8' });
    const committed = readFileSync(path.join(ROOT, 'src-native', 'mock', 'cdx_test_fixture.h'), 'utf8');
    assert.equal(committed, fresh, 'regenerate it: node scripts/vm/gen-sim-header.js --mock-fixture > src-native/mock/cdx_test_fixture.h');
  });

  it('the generator writes the C++ fixture from the devices the TypeScript mock creates: same ids, regions and contents', function () {
    // a plain-node script (no types); it exports what it writes the C++ header from
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const gen = require(GEN) as { fixtureDeviceSpecs(): unknown[] };
    const specs = gen.fixtureDeviceSpecs();
    assert.ok(specs.length >= 2);
    assert.deepStrictEqual(specs, fixtureDevices());
  });
});

describe('tests start Node the way the arm64 tier can run them', function () {
  it('no test spawns process.execPath directly: under qemu-user without binfmt_misc an arm64 binary cannot be exec\'d, so children go through nodeCommand()', function () {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts') && p !== path.join(ROOT, 'test', 'helpers', 'node-exec.ts')) {
          // the fuzzer's children run on the host only (never under qemu-user)
          if (p.startsWith(path.join(ROOT, 'test', 'fuzz'))) continue;
          readFileSync(p, 'utf8').split('\n').forEach((line, i) => {
            if (/\b(spawn|spawnSync|execFile|execFileSync|fork)\(process\.execPath\b/.test(line)) offenders.push(`${path.relative(ROOT, p)}:${i + 1}`);
          });
        }
      }
    };
    walk(path.join(ROOT, 'test'));
    assert.deepEqual(offenders, []);
  });
});
