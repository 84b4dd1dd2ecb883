// vfio-cdx/pmd: the building blocks, the lnic port in a Worker, and the C reference driver
// against the JavaScript one. All on the mock; the model is stepped wherever a result must be
// exact, and nothing waits on a clock.
import * as assert from 'node:assert/strict';
import { once } from 'node:events';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { CdxBus } from '../../lib';
import { Doorbell, ipv4DecTtl, ipv4HeaderChecksum, LNIC_STATE_WORDS, LnicPort, macSwap, Mempool } from '../../lib/pmd';
import { deviceMappings, fdDiff, openFds } from '../helpers/process-state';
import { collect } from '../helpers/gc';
import { lnicKernel, portRig, R, rig, type Rig } from '../helpers/lnic';
import { benchAddon, haveBenchAddon } from '../../bench/native-addon';
import { forward } from '../../bench/pmd-loop';

describe('vfio-cdx/pmd building blocks', function () {
  let r: Rig | undefined;
  afterEach(function () {
    r?.dev.close();
    r = undefined;
  });

  it('Mempool: ids pop in order and push back, every IOVA shares one high word, bad options throw', function () {
    r = rig();
    const pool = Mempool.create(r.dev, { count: 300, bufSize: 1024 });
    assert.equal(pool.top, 300);
    assert.deepEqual([pool.alloc(), pool.alloc(), pool.alloc()], [0, 1, 2]);
    pool.free(1);
    assert.equal(pool.alloc(), 1);
    assert.equal(pool.iova(5), pool.dma.iova + 5n * 1024n);
    assert.equal(pool.addrLo(5), Number((pool.dma.iova + 5n * 1024n) & 0xffffffffn));
    assert.equal(Number(pool.iova(299) >> 32n), pool.iovaHi);
    while (pool.top > 0) pool.alloc();
    assert.equal(pool.alloc(), -1, 'empty');
    assert.throws(() => Mempool.create(r!.dev, { bufSize: 1000 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => Mempool.create(r!.dev, { count: 0 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => Mempool.create(r!.dev, { cnt: 5 } as never), { code: 'ERR_INVALID_ARG_VALUE' });
    pool.close();
  });

  it('macSwap swaps the addresses; ipv4DecTtl keeps the header checksum right and refuses what a router drops', function () {
    const f = new Uint8Array(64);
    f.set([1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16, 0x08, 0x00, 0x45, 0, 0, 46, 0x12, 0x34, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    const sum = ipv4HeaderChecksum(f, 0);
    f[24] = sum >> 8;
    f[25] = sum & 0xff;
    macSwap(f, 0);
    assert.deepEqual([...f.subarray(0, 12)], [11, 12, 13, 14, 15, 16, 1, 2, 3, 4, 5, 6]);
    for (let ttl = 64; ttl > 1; ttl--) {
      assert.equal(ipv4DecTtl(f, 0), true);
      assert.equal(f[22], ttl - 1);
      assert.equal(f[24]! << 8 | f[25]!, ipv4HeaderChecksum(f, 0), `checksum at TTL ${ttl - 1}`);
    }
    assert.equal(ipv4DecTtl(f, 0), false, 'TTL 1');
    f[22] = 9;
    f[13] = 0xdd;  // not IPv4
    assert.equal(ipv4DecTtl(f, 0), false);
    assert.equal(f[22], 9);
  });

  it('LnicPort.open refuses bad options and a device that is not an lnic, leaving nothing mapped', function () {
    r = rig();
    const tick = () => r!.step(64, 1000);
    const objects = r.kernel.openObjects();
    const maps = deviceMappings();
    assert.throws(() => LnicPort.open(r!.dev, { ringSize: 100, tick }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => LnicPort.open(r!.dev, { mode: 'mirror' as never, tick }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => LnicPort.open(r!.dev, { ring: 5 } as never), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => LnicPort.open(r!.dev, { pool: { count: 100 }, tick }), { code: 'ERR_OUT_OF_RANGE' });
    assert.equal(r.kernel.openObjects(), objects, 'the register mapping went');
    assert.deepEqual(deviceMappings(), maps, 'and so did the pool');
    const kernel = lnicKernel();
    kernel.addDevice({ dev: 1, deviceId: 0x1234, regions: [{ size: 0x10000 }], bound: true });
    using other = new CdxBus({ kernel }).open('cdx-00:01');
    assert.throws(() => LnicPort.open(other), { code: 'ERR_VFIO_NOT_LNIC' });
  });

  it('a doorbell is one store of the free-running count (dmb oshst; str on arm64, Atomics.store elsewhere)', function () {
    const p = portRig();
    r = p;
    const bell = new Doorbell(p.port.regs, R.RXQ + R.Q.PIDX);
    assert.equal(bell.kind, process.arch === 'arm64' ? 'barrier' : 'atomics');
    assert.equal(new Doorbell(p.port.regs, R.RXQ + R.Q.PIDX, 'atomics').kind, 'atomics');
    assert.throws(() => new Doorbell(p.port.regs, R.RXQ + R.Q.PIDX, 'fast' as 'auto'), { code: 'ERR_INVALID_ARG_VALUE' });
    if (process.arch === 'x64') assert.equal(p.port.writeBack, 'dd');
    const ids = new Uint32Array([p.port.pool.alloc()]);
    p.port.txBurst(ids, new Uint32Array([60]), 1);
    assert.equal(p.port.regs.read32(R.TXQ + R.Q.PIDX), 1, 'the doorbell holds the free-running TX count');
  });
});

describe('the C reference driver and the JavaScript driver (bench/native/pmd_ref.cc, lib/pmd)', function () {
  before(function () {
    // Under PREBUILDS_ONLY=1 (scripts/test-arm64.sh) build/ is this machine's, not the test Node's.
    // Anywhere else a clone's `npm ci` has built the bench addon: a missing one fails here, loudly.
    if (process.env.PREBUILDS_ONLY === '1') this.skip();
    assert.ok(haveBenchAddon(), 'the bench addon (bench/build/Release/vfio_cdx_bench.node) is built: run `npm run build:bench`');
  });

  // Forwards generator traffic (MAC swap) for `iterations` bursts of 8 with one driver and
  // returns the frames the device put on the wire.
  function run(driver: 'js' | 'c' | 'both', iterations: number): Uint8Array[] {
    const p = portRig({ mode: 'generator', generator: { pps: 0, frameLength: 64, flows: 3 } });
    try {
      p.ctl.capture(100000);
      const ids = new Uint32Array(64);
      const lens = new Uint32Array(64);
      const jsPart = driver === 'js' ? iterations : driver === 'both' ? iterations >> 1 : 0;
      forward(p.port, ids, lens, 8, 1, jsPart, p.step, 16);
      if (jsPart < iterations) {
        const state = new Uint32Array(LNIC_STATE_WORDS);
        p.port.exportState(state);
        const res = benchAddon().cForward({
          regs: p.port.regs.buffer!, ring: p.port.ringMemory.bytes.buffer as ArrayBuffer, ringSize: p.port.ringSize,
          pool: p.port.pool.bytes.buffer as ArrayBuffer, poolLo: p.port.pool.iovaLo, poolHi: p.port.pool.iovaHi,
          bufSize: p.port.pool.bufSize, hwb: p.port.writeBack === 'hwb', stack: p.port.pool.stack, state,
          burst: 8, work: 1, iterations: iterations - jsPart, cpu: -1, thread: false, lnic: p.ctl._hooks(), stepBudget: 16,
        });
        p.port.importState(state);
        assert.ok(res.packets > 0);
      }
      // Drain: what the drivers sent reaches the wire.
      for (let i = 0; i < 4; i++) p.step(1024, 0);
      return p.ctl.takeCapture();
    } finally {
      p.dev.close();
    }
  }

  it('forward the same frames in the same order, and hand a port over to each other mid-stream', function () {
    const js = run('js', 600);
    const c = run('c', 600);
    const both = run('both', 600);
    assert.ok(js.length > 3000, `frames forwarded: ${js.length}`);
    assert.equal(c.length, js.length);
    assert.equal(both.length, js.length);
    for (let i = 0; i < js.length; i++) {
      assert.deepEqual(c[i], js[i], `frame ${i}`);
      assert.deepEqual(both[i], js[i], `frame ${i} (JS then C)`);
    }
    // And what went out is what the generator made, MACs swapped, in sequence.
    for (let i = 0; i < js.length; i++) {
      const f = js[i]!;
      assert.equal(new DataView(f.buffer, f.byteOffset).getUint32(R.GEN_SEQ_OFFSET, true), i);
      assert.deepEqual([...f.subarray(6, 12)], [2, 0, 0, 0, 0, 2], 'the source MAC is the old destination');
    }
  });
});

describe('lnic port in a worker thread', function () {
  const LIB = path.join(__dirname, '..', '..', 'lib');

  it('a worker busy-polling a threaded lnic, terminated mid-traffic, leaves no fds, mappings or DMA buffers behind', async function () {
    // Earlier tests' dropped devices may still be waiting for the GC: let them go first, so the
    // baseline holds what this process keeps, then look only for what this test adds.
    await collect(() => false, 20);
    const kernel = lnicKernel();
    const fds = openFds();
    const maps = deviceMappings();
    const objects = kernel.openObjects();
    const w = new Worker(`
      const { parentPort, workerData } = require('node:worker_threads');
      const { CdxBus } = require(${JSON.stringify(LIB)});
      const { MockKernel } = require(${JSON.stringify(path.join(LIB, 'mock'))});
      const { LnicPort } = require(${JSON.stringify(path.join(LIB, 'pmd'))});
      const { forward, inject } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'bench', 'pmd-loop'))});
      const kernel = MockKernel.attach(workerData.token);
      const dev = new CdxBus({ kernel }).open('cdx-00:00');
      const port = LnicPort.open(dev, { timeout: Infinity });
      inject(port, 256, 60);
      const ids = new Uint32Array(32), lens = new Uint32Array(32);
      let total = 0;
      while (total < 5000) total += forward(port, ids, lens, 32, 1, 64, null, 0);
      parentPort.postMessage(total);
      for (;;) forward(port, ids, lens, 32, 1, 1024, null, 0);`, { eval: true, workerData: { token: kernel.token } });
    const [forwarded] = await once(w, 'message');
    assert.ok(forwarded >= 5000);
    assert.equal(kernel.device('cdx-00:00').openCount, 1);
    await w.terminate();
    assert.equal(kernel.device('cdx-00:00').openCount, 0, 'the device was closed by the worker\'s teardown');
    assert.deepEqual(fdDiff(fds, openFds()), []);
    assert.deepEqual(deviceMappings().filter((m) => !maps.includes(m)), [],
      'no region mapping and no DMA buffer (/dev/zero) is left (the GC may still release earlier tests\' ones)');
    assert.equal(kernel.openObjects(), objects);
  });
});

describe('examples/l2fwd.ts', function () {
  it('forwards from a worker, polling, on interrupts, and switching between the two', async function () {
    const { runL2fwd } = await import('../../examples/l2fwd');
    const quiet = () => undefined;
    const poll = await runL2fwd({ mode: 'poll', pps: 0, frames: 20000, seconds: 0, report: quiet });
    assert.ok(poll.frames >= 20000);
    assert.equal(poll.sleeps, 0);
    // A slow generator leaves the ring empty most of the time, so the worker sleeps on the RX
    // interrupt and is woken by it; a lost wakeup would leave it asleep and this test hanging.
    // How often it sleeps depends on how fast this machine polls (under qemu-user a poll can take
    // longer than the gap between frames), so only what holds at any speed is asserted here; the
    // deterministic switching test is lnic.test.ts's "armRx() then disarmRx()".
    const irq = await runL2fwd({ mode: 'irq', pps: 20000, frames: 2000, seconds: 0, ttl: true, report: quiet });
    assert.ok(irq.frames >= 2000);
    assert.ok(irq.wakeups <= irq.sleeps);
    const adaptive = await runL2fwd({ mode: 'adaptive', pps: 5000, frames: 1000, seconds: 0, report: quiet });
    assert.ok(adaptive.frames >= 1000);
    assert.ok(adaptive.wakeups <= adaptive.sleeps);
  });
});
