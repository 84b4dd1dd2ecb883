// `vfio-cdx watch`: interrupts raised by the device reach the output as they arrive, and SIGINT
// ends the command cleanly (exit 0, MSI disabled, device closed). The interrupts come from the test,
// acting as the device through the harness (a spawned `--mock` has a mock nothing else can reach).
// Every wait is for output, never for time.
import * as assert from 'node:assert/strict';
import { CLI, harness, HARNESS, Running } from '../helpers/cli-run';

describe('vfio-cdx watch', function () {
  this.timeout(Math.max(this.timeout(), 120_000));

  it('prints each MSI the device raises on a watched vector, and nothing for the others', async function () {
    const w = new Running(HARNESS, ['{}', 'watch', 'cdx-00:00', '0,2']);
    await w.waitFor('stderr', /watching cdx-00:00 MSI vectors 0,2 \(of 4\); Ctrl-C to stop/);
    w.child.stdin.write('raise cdx-00:00 2\n');
    await w.waitFor('stdout', /cdx-00:00 {2}vector 2: 1 interrupt \(1 so far\)\n/);
    w.child.stdin.write('raise cdx-00:00 0\n');
    await w.waitFor('stdout', /vector 0: 1 interrupt \(1 so far\)\n/);
    // Vector 1 is enabled (vfio-cdx enables 0..2 together) but not watched: delivered, not printed.
    w.child.stdin.write('raise cdx-00:00 1\n');
    await w.waitFor('stderr', /harness: raised 1 true/);
    w.child.stdin.write('raise cdx-00:00 2\n');
    await w.waitFor('stdout', /vector 2: 1 interrupt \(2 so far\)\n/);
    // Vector 3 is above the highest one asked for: not enabled, so the kernel drops it.
    w.child.stdin.write('raise cdx-00:00 3\n');
    await w.waitFor('stderr', /harness: raised 3 false/);
    w.child.kill('SIGINT');
    const { status, signal } = await w.exited;
    assert.equal(signal, null);
    assert.equal(status, 0, w.stderr);
    const lines = w.stdout.trim().split('\n');
    assert.equal(lines.length, 3, w.stdout);
    for (const l of lines) assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z {2}cdx-00:00 {2}vector [02]: /);
    assert.match(w.stderr, /stopped after 3 interrupts: MSI disabled, cdx-00:00 closed/);
    const done = JSON.parse(/harness: done (.*)/.exec(w.stderr)![1]!);
    assert.equal(done.status, 0);
    assert.deepEqual(done.devices['cdx-00:00'], { msiEnabled: false, openCount: 0 }, 'the kernel has MSI off and the device closed');
  });

  it('--json prints one object per delivery', async function () {
    const w = new Running(HARNESS, ['{"profile":"noiommu"}', 'watch', 'cdx-00:00', '1', '--json']);
    await w.waitFor('stderr', /watching cdx-00:00 MSI vector 1 \(of 4\)/);
    w.child.stdin.write('raise cdx-00:00 1\n');
    await w.waitFor('stdout', /\n/);
    w.child.kill('SIGTERM');
    assert.equal((await w.exited).status, 0, w.stderr);
    const event = JSON.parse(w.stdout.trim());
    assert.deepEqual({ ...event, time: typeof event.time }, { time: 'string', device: 'cdx-00:00', vector: 1, count: 1, total: 1 });
  });

  it('the binary: SIGINT ends `watch --mock` with exit 0 after disabling MSI and closing the device', async function () {
    const w = new Running(CLI, ['watch', 'cdx-00:00', '--mock']);
    await w.waitFor('stderr', /watching cdx-00:00 MSI vectors 0-3 \(of 4\); Ctrl-C to stop\n/);
    w.child.kill('SIGINT');
    const { status, signal } = await w.exited;
    assert.equal(signal, null);
    assert.equal(status, 0, w.stderr);
    assert.equal(w.stdout, '');
    assert.match(w.stderr, /stopped after 0 interrupts: MSI disabled, cdx-00:00 closed\n$/);
  });

  it('stops the same way when stdout goes away (EPIPE), as in `vfio-cdx watch ... | head -1`', async function () {
    const w = new Running(HARNESS, ['{}', 'watch', 'cdx-00:00', '0']);
    await w.waitFor('stderr', /watching cdx-00:00/);
    w.child.stdin.write('raise cdx-00:00 0\n');
    await w.waitFor('stdout', /vector 0: 1 interrupt/);
    w.child.stdout.destroy();
    w.child.stdin.write('raise cdx-00:00 0\n');
    await w.waitFor('stderr', /harness: done .*/);
    assert.equal((await w.exited).status, 0, w.stderr);
    assert.match(w.stderr, /stopped after 2 interrupts: MSI disabled, cdx-00:00 closed/);
    assert.match(w.stderr, /"cdx-00:00":\{"msiEnabled":false,"openCount":0\}/);
  });

  it('a device without MSI: exit 1, naming the device', function () {
    const r = harness({ bound: ['cdx-00:01'] }, 'watch', 'cdx-00:01');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^vfio-cdx: cdx-00:01: has no MSI vectors/m);
  });

  it('a vector the device does not have is a usage error that names the device and its vectors', function () {
    const r = harness({}, 'watch', 'cdx-00:00', '2-5');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /cdx-00:00 has 4 MSI vectors \(0-3\); there is no vector 5/);
  });
});
