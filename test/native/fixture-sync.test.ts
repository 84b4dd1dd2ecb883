// The cdx-test device is described once, in fixtures/cdx-test-devices.json: the VM's simulated
// controller gets its register map generated at kernel build time, the mock's model from a
// generated header that is committed (it must build without the scripts). This keeps the two
// from drifting apart.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');
const GEN = path.join(ROOT, 'scripts', 'vm', 'gen-sim-header.js');

describe('the cdx-test register map (fixtures/cdx-test-devices.json)', function () {
  it('src-native/mock/cdx_test_regs.h is what the generator makes from the fixture now', function () {
    const fresh = execFileSync(process.execPath, [GEN, '--mock'], { encoding: 'utf8' });
    const committed = readFileSync(path.join(ROOT, 'src-native', 'mock', 'cdx_test_regs.h'), 'utf8');
    assert.equal(committed, fresh, 'regenerate it: node scripts/vm/gen-sim-header.js --mock > src-native/mock/cdx_test_regs.h');
  });

  it('the kernel header and the mock header carry the same offsets', function () {
    const sim = execFileSync(process.execPath, [GEN], { encoding: 'utf8' });
    const mock = execFileSync(process.execPath, [GEN, '--mock'], { encoding: 'utf8' });
    const simRegs = [...sim.matchAll(/#define CDX_SIM_REG_(\w+)\s+(0x[0-9a-f]+)/g)].map((m) => [m[1], Number(m[2])]);
    const mockRegs = [...mock.matchAll(/kReg(\w+)\s+= (0x[0-9a-f]+)/g)].map((m) => [m[1]!.replace(/[A-Z]/g, (c, i) => (i ? '_' : '') + c).toUpperCase(), Number(m[2])]);
    assert.ok(simRegs.length >= 17);
    assert.deepEqual(mockRegs, simRegs);
  });
});
