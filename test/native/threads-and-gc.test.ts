// Per-environment state: worker threads, environment teardown, GC finalization.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { CdxBus } from '../../lib';
import { MockKernel } from '../../lib/mock';

const LIB = path.join(__dirname, '..', '..', 'lib');

function runWorker(code: string, workerData: unknown): Worker {
  const prelude = `const { CdxBus } = require(${JSON.stringify(LIB)});
    const { MockKernel } = require(${JSON.stringify(path.join(LIB, 'mock'))});
    const { RawKernel } = require(${JSON.stringify(path.join(LIB, 'raw'))});
    const { parentPort, workerData } = require('node:worker_threads');\n`;
  return new Worker(prelude + code, { eval: true, workerData });
}

import { setImmediate as turn } from 'node:timers/promises';
import { canCollect, collect } from '../helpers/gc';
import { WHERE_GC, describeWhen } from '../helpers/pending';

describe('worker_threads', function () {
  it('a worker drives a device of a mock kernel made by the main thread', async function () {
    const kernel = MockKernel.fixture({ bound: true });
    const w = runWorker(`
      const kernel = MockKernel.attach(workerData.token);
      const bus = new CdxBus({ kernel });
      const dev = bus.open('cdx-00:00');
      const regs = dev.regions[0].map();
      regs.write32(0x100, 0xabcd1234);
      parentPort.postMessage(regs.read32(0));
      dev.close();`, { token: kernel.token });
    // Listen for 'exit' before awaiting: a worker's last messages and its exit can be delivered in one turn.
    const exited = once(w, 'exit');
    const [id] = await once(w, 'message');
    await exited;
    assert.equal(id, 0xcd5e0000);
    assert.equal(kernel.device('cdx-00:00').openCount, 0);
  });

  it('a worker that exits without closing has its devices closed by environment teardown', async function () {
    const kernel = MockKernel.fixture({ bound: true });
    const objects = kernel.openObjects();
    const w = runWorker(`
      const bus = new CdxBus({ kernel: MockKernel.attach(workerData.token) });
      const dev = bus.open('cdx-00:00');
      globalThis.keep = [dev, dev.regions[0].map(), dev.regions[1].map()];
      parentPort.once('message', () => process.exit(0));
      parentPort.postMessage('open');`, { token: kernel.token });
    const exited = once(w, 'exit');
    await once(w, 'message');
    assert.equal(kernel.device('cdx-00:00').openCount, 1);
    w.postMessage('exit without closing');
    await exited;
    assert.equal(kernel.device('cdx-00:00').openCount, 0);
    assert.equal(kernel.openObjects(), objects);
  });

  it('two threads each with their own mock kernel work side by side', async function () {
    const w = runWorker(`
      const kernel = MockKernel.fixture({ bound: true });
      const bus = new CdxBus({ kernel });
      let sum = 0;
      for (let i = 0; i < 200; i++) { const d = bus.open('cdx-00:01'); const m = d.regions[0].map(); m.write32(4, i); sum += m.read32(4); d.close(); }
      parentPort.postMessage(sum);`, {});
    const exited = once(w, 'exit');
    const kernel = MockKernel.fixture({ bound: true });
    const bus = new CdxBus({ kernel });
    for (let i = 0; i < 200; i++) {
      using d = bus.open('cdx-00:01');
      d.regions[0]!.map().write32(4, i);
    }
    const [sum] = await once(w, 'message');
    assert.equal(sum, (199 * 200) / 2);
    await exited;
  });

  it('writing remove while the device is open blocks until the last fd closes (vfio_unregister_group_dev)', async function () {
    const kernel = MockKernel.fixture({ bound: true });
    const dev = new CdxBus({ kernel }).open('cdx-00:01');
    const ctl = kernel.device('cdx-00:01');
    const w = runWorker(`
      const raw = new RawKernel(MockKernel.attach(workerData.token));
      parentPort.postMessage('writing');
      parentPort.postMessage(raw.writeFile('/sys/bus/cdx/devices/cdx-00:01/remove', '1'));`, { token: kernel.token });
    const messages: unknown[] = [];
    const exited = once(w, 'exit');
    w.on('message', (m) => messages.push(m));
    // No clock: the write is under way once the kernel has taken the device off the bus
    // (device_del() removes it from /sys/bus/cdx/devices before the driver's remove blocks),
    // and it cannot return before the device's last fd closes.
    while (messages.length === 0 || kernel.devices.includes('cdx-00:01')) await turn();
    assert.deepEqual(messages, ['writing'], 'the remove write is still blocked');
    assert.equal(ctl.exists, false, 'removal has begun');
    assert.equal(ctl.openCount, 1, 'the device is still open');
    dev.close();
    await exited;
    assert.deepEqual(messages, ['writing', 1]);
    assert.equal(ctl.exists, false);
  });
});

describeWhen(canCollect, 'garbage collection', WHERE_GC, function () {
  it('a device reclaimed by GC is closed, with a VFIO_CDX_UNCLOSED warning', async function () {
    const kernel = MockKernel.fixture({ bound: true });
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    (() => {
      const dev = new CdxBus({ kernel }).open('cdx-00:00');
      dev.regions[0]!.map();
    })();
    assert.equal(kernel.device('cdx-00:00').openCount, 1);
    const ctl = kernel.device('cdx-00:00');
    await collect(() => ctl.openCount === 0 && warnings.length > 0);
    process.off('warning', onWarning);
    assert.equal(kernel.device('cdx-00:00').openCount, 0);
    assert.ok(warnings.some((w) => (w as Error & { code?: string }).code === 'VFIO_CDX_UNCLOSED'));
  });

  it('a live view of device memory keeps its device open; dropping it lets GC close the device', async function () {
    const kernel = MockKernel.fixture({ bound: true });
    let view: Uint32Array | null = (() => {
      const dev = new CdxBus({ kernel }).open('cdx-00:00');
      return new Uint32Array(dev.regions[0]!.map().buffer!);
    })();
    const onWarning = () => undefined;
    process.on('warning', onWarning);
    const ctl = kernel.device('cdx-00:00');
    await collect(() => false, 20);  // twenty full collections with the view held
    assert.equal(ctl.openCount, 1);
    assert.equal(view[0], 0xcd5e0000);
    view = null;
    await collect(() => ctl.openCount === 0);
    process.off('warning', onWarning);
    assert.equal(kernel.device('cdx-00:00').openCount, 0);
  });
});
