// MSI: VFIO_DEVICE_SET_IRQS (drivers/vfio/cdx/intr.c, vfio_set_irqs_validate_and_prepare)
// and delivery on the event loop. The cdx-test device raises vector v when the
// driver writes v + 1 to its MSI_DOORBELL register.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { nodeCommand } from '../helpers/node-exec';
import * as path from 'node:path';
import { DEV0, DEV1, PAGE, REG, probeBug, useEnv } from '../helpers/target';
import { C, E, SYS, getDeviceFd, groupNode, openGroup, struct } from '../helpers/raw-open';
import type { RawKernel } from '../../lib/raw';
import { WHERE_BINDABLE, WHERE_IOMMU, describeWhen, skipHere } from '../helpers/pending';

const MSI_DOORBELL = 0x14;
const MSI_FIRED = 0x18;
const TRIGGER = () => C.VFIO_IRQ_SET_ACTION_TRIGGER!;

function irqSet(flags: number, start: number, count: number, data: number[] = [], dataWidth: 1 | 4 = 4) {
  const s = struct('vfio_irq_set', { flags, start, count }, data.length * dataWidth);
  const dv = new DataView(s.bytes.buffer);
  data.forEach((v, i) => (dataWidth === 4 ? dv.setInt32(20 + 4 * i, v, true) : dv.setUint8(20 + i, v)));
  return s.bytes;
}

/** Reads an eventfd (non-blocking): its counter, or -errno (-EAGAIN when zero). */
function readEventfd(raw: RawKernel, fd: number): number {
  const b = new BigUint64Array(1);
  const n = raw.read(fd, b);
  return n === 8 ? Number(b[0]) : n;
}

describeWhen(!probeBug, 'MSI interrupts (drivers/vfio/cdx/intr.c)', WHERE_BINDABLE, function () {
  const env = useEnv({ bind: true });

  describe('through the API', function () {
    it('counts the vectors from GET_IRQ_INFO: 4 on the test device, 0 without MSI', function () {
      using d0 = env().bus.open(DEV0);
      using d1 = env().bus.open(DEV1);
      assert.equal(d0.msi.count, 4);
      assert.equal(d1.msi.count, 0);
      assert.throws(() => d1.msi.enable(), { code: 'ERR_VFIO_NO_MSI' });
    });

    it('software trigger (DATA_NONE loopback) delivers an interrupt on the event loop', async function () {
      using dev = env().bus.open(DEV0);
      const vectors = dev.msi.enable();
      assert.equal(vectors.length, 4);
      const got = vectors[2]!.wait();
      dev.msi.trigger(2);
      assert.equal(await got, 1);
    });

    it('the device raising MSI (doorbell) reaches the vector through the kernel and the eventfd', async function () {
      using dev = env().bus.open(DEV0);
      using regs = dev.regions[0]!.map();
      const [, v1] = dev.msi.enable(2);
      assert.equal(regs.read32(REG.MSI_ENABLE), 1, 'the controller enabled MSI');
      let got = v1!.wait();
      regs.write32(MSI_DOORBELL, 1 + 1);
      assert.equal(await got, 1);
      // MSI_FIRED counts over the device's lifetime (a reset shows 0 until the next MSI)
      const fired = regs.read32(MSI_FIRED);
      assert.ok(fired >= 1);
      got = v1!.wait();
      regs.write32(MSI_DOORBELL, 1 + 1);
      assert.equal(await got, 1);
      assert.equal(regs.read32(MSI_FIRED), fired + 1);
    });

    it('interrupts between two turns of the loop coalesce into one event with their count', async function () {
      using dev = env().bus.open(DEV0);
      const [v0] = dev.msi.enable(1);
      const got = v0!.wait();
      dev.msi.trigger(0);
      dev.msi.trigger(0);
      dev.msi.trigger(0);
      assert.equal(await got, 3);
    });

    it('enable twice is refused: live vectors are never re-programmed', function () {
      using dev = env().bus.open(DEV0);
      dev.msi.enable(1);
      assert.throws(() => dev.msi.enable(1), { code: 'ERR_VFIO_MSI_ENABLED' });
      assert.throws(() => dev.msi.enable(5), { code: 'ERR_OUT_OF_RANGE' });
    });

    it('trigger before enable is EINVAL (MSI not configured in the kernel)', function () {
      using dev = env().bus.open(DEV0);
      assert.throws(() => dev.msi.trigger(0), { code: 'EINVAL', request: 'VFIO_DEVICE_SET_IRQS' });
    });

    it('disable detaches the eventfds: waits reject with ERR_VFIO_CLOSED, the controller disables MSI', async function () {
      using dev = env().bus.open(DEV0);
      using regs = dev.regions[0]!.map();
      const [v0] = dev.msi.enable(1);
      const pending = v0!.wait();
      dev.msi.disable();
      await assert.rejects(pending, { code: 'ERR_VFIO_CLOSED' });
      assert.equal(regs.read32(REG.MSI_ENABLE), 0);
      assert.equal(dev.msi.enabled, false);
      assert.throws(() => dev.msi.trigger(0), { code: 'EINVAL' });
      dev.msi.enable(1);  // and it can be enabled again
    });

    it('a wait can be aborted; the async iterator yields counts and ends on break', async function () {
      using dev = env().bus.open(DEV0);
      const [v0] = dev.msi.enable(1);
      const ac = new AbortController();
      const waiting = v0!.wait({ signal: ac.signal });
      ac.abort();
      await assert.rejects(waiting, { name: 'AbortError' });
      const seen: number[] = [];
      setImmediate(() => dev.msi.trigger(0));
      for await (const n of v0!) {
        seen.push(n);
        if (seen.length === 2) break;
        setImmediate(() => dev.msi.trigger(0));
      }
      assert.deepEqual(seen, [1, 1]);
      assert.equal(v0!.listenerCount('interrupt'), 0);
    });

    it('closing the device with MSI enabled releases every eventfd', function () {
      const { bus } = env();
      const before = require('node:fs').readdirSync('/proc/self/fd').length;
      const dev = bus.open(DEV0);
      const [v0] = dev.msi.enable();
      v0!.on('interrupt', () => undefined);
      dev.close();
      assert.equal(require('node:fs').readdirSync('/proc/self/fd').length, before);
    });

    it('an unref()d vector does not keep the process alive; a ref()d one does', async function () {
      this.timeout(300000);  // Node children under emulation are slow; no timing is asserted
      // No clock: the unref()d child must exit on its own (a hang would be the failure); the
      // ref()d one must still be running when told (SIGUSR2, whose handler Node never refs) to
      // fire its vector, and only go idle ('beforeExit') after the interrupt closed the device.
      const lib = path.join(__dirname, '..', '..', 'lib');
      const script = (unref: boolean) => `
        const { CdxBus } = require(${JSON.stringify(lib)}); const { MockKernel } = require(${JSON.stringify(lib + '/mock')});
        const kernel = process.env.VFIO_CDX_TEST_KERNEL === 'system' ? undefined : MockKernel.fixture({ bound: true });
        const bus = new CdxBus({ kernel }); if (!kernel) bus.bind('cdx-00:00');
        const dev = bus.open('cdx-00:00'); const [v] = dev.msi.enable(1);
        v.on('interrupt', () => { console.log('got'); dev.close(); });
        process.on('SIGUSR2', () => dev.msi.trigger(0));
        process.on('beforeExit', () => console.log('beforeExit'));
        ${unref ? 'v.unref();' : ''} console.log('listening');`;
      const free = spawnSync(...nodeCommand(['-e', script(true)]), { encoding: 'utf8' });
      assert.equal(free.status, 0, free.stderr);
      assert.deepEqual(free.stdout.trim().split('\n'), ['listening', 'beforeExit']);
      const [file, args] = nodeCommand(['-e', script(false)]);
      const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (d: string) => {
        out += d;
        if (out === 'listening\n') child.kill('SIGUSR2');
      });
      const [code] = await once(child, 'exit');
      assert.equal(code, 0);
      assert.deepEqual(out.trim().split('\n'), ['listening', 'got', 'beforeExit']);
    });

    it('dev.reset() re-arms MSI: the reset quiesces interrupts at the controller, the library enables them again', async function () {
      using dev = env().bus.open(DEV0);
      using regs = dev.regions[0]!.map();
      const [v0, v1] = dev.msi.enable(2);
      dev.reset();
      assert.equal(regs.read32(REG.MSI_ENABLE), 1, 'MSI is enabled at the controller again');
      const table = (v: number) => [0, 4, 8].map((o) => regs.read32(0x20 + 12 * v + o));
      assert.notDeepEqual(table(1), [0, 0, 0], 'the MSI messages were written again');
      const got = v1!.wait();
      regs.write32(MSI_DOORBELL, 1 + 1);
      assert.equal(await got, 1);
      const looped = v0!.wait();
      dev.msi.trigger(0);
      assert.equal(await looped, 1);
      });
    });

  describe('the MSI message the kernel programs into the device', function () {
    // The SMMU's software MSI window (MSI_IOVA_BASE, MSI_IOVA_LENGTH in arm-smmu-v3.h): iommu-dma
    // maps the interrupt controller's doorbell there, so behind an IOMMU the device gets an IOVA.
    const MSI_WINDOW = { start: 0x8000000n, last: 0x80fffffn };

    function table(regs: { read32(o: number): number }, v: number) {
      const off = REG.MSI_TABLE + 12 * v;
      return { addr: BigInt(regs.read32(off)) | (BigInt(regs.read32(off + 4)) << 32n), data: regs.read32(off + 8) };
    }

    it('data is the vector index; behind an IOMMU the address is an IOVA inside the SMMU MSI window', function () {
      using dev = env().bus.open(DEV0);
      using regs = dev.regions[0]!.map();
      dev.msi.enable(2);
      const [m0, m1] = [table(regs, 0), table(regs, 1)];
      assert.deepEqual([m0.data, m1.data], [0, 1]);
      assert.equal(m0.addr, m1.addr, 'one doorbell for every vector');
      assert.notEqual(m0.addr, 0n);
      if (dev.noiommu) return;
      assert.ok(m0.addr >= MSI_WINDOW.start && m0.addr <= MSI_WINDOW.last, `0x${m0.addr.toString(16)} in the MSI window`);
    });

    it('behind an IOMMU the MSI window is left out of the DMA windows, and MAP_DMA into it is EINVAL', function () {
      const { bus, raw } = env();
      {
        using dev = bus.open(DEV0);
        if (dev.noiommu) skipHere(this, WHERE_IOMMU);
        for (const r of dev.dma.ranges) {
          assert.ok(r.last < MSI_WINDOW.start || r.start > MSI_WINDOW.last,
            `range 0x${r.start.toString(16)}-0x${r.last.toString(16)} misses the MSI window`);
        }
      }
      const g = openGroup(raw, DEV0);
      const fd = getDeviceFd(raw, g.group, DEV0);
      assert.ok(fd >= 0, 'the device is attached: its reserved regions are known to every kind of container');
      const m = raw.mmap(-1, 0, PAGE, SYS.PROT_READ! | SYS.PROT_WRITE!, SYS.MAP_SHARED! | SYS.MAP_ANONYMOUS!);
      assert.equal(m.result, 0);
      const map = (iova: bigint) => raw.ioctl(g.container, C.VFIO_IOMMU_MAP_DMA!,
        struct('vfio_iommu_type1_dma_map', { flags: 3, vaddr: m.address, iova, size: BigInt(PAGE) }).bytes);
      assert.equal(map(MSI_WINDOW.start), -E.EINVAL);
      assert.equal(map(MSI_WINDOW.last + 1n - BigInt(PAGE)), -E.EINVAL);
      assert.equal(map(MSI_WINDOW.last + 1n), 0, 'the page after the window maps');
      raw.munmap(m.address, PAGE);
      raw.close(fd);
      g.close();
    });

    it('the group lists the MSI window as a reserved "msi" region; a no-IOMMU group has none', function () {
      const { bus, raw } = env();
      const { n, noiommu } = groupNode(raw, DEV0);
      assert.equal(n, bus.device(DEV0).iommuGroup);
      const resv = raw.readFile(`/sys/kernel/iommu_groups/${n}/reserved_regions`);
      const type = raw.readFile(`/sys/kernel/iommu_groups/${n}/type`);
      if (noiommu) {
        assert.equal(resv, '');
        assert.equal(type, 'unknown\n');
        return;
      }
      assert.equal(resv, '0x0000000008000000 0x00000000080fffff msi\n');
      assert.equal(type, 'DMA\n', 'the default domain of a CDX device behind the SMMU');
    });
  });

  describe('VFIO_DEVICE_SET_IRQS with raw eventfds (K-IRQ-1..8)', function () {
    let efds: number[] = [];
    const eventfds = (raw: RawKernel, n: number) => {
      for (let i = 0; i < n; i++) efds.push(raw.eventfd(0, SYS.EFD_CLOEXEC! | SYS.EFD_NONBLOCK!));
      return efds.slice(-n);
    };
    afterEach(function () {
      for (const fd of efds) env().raw.close(fd);
      efds = [];
    });
    const EVENTFD = () => C.VFIO_IRQ_SET_DATA_EVENTFD! | TRIGGER();
    const NONE = () => C.VFIO_IRQ_SET_DATA_NONE! | TRIGGER();

    it('EVENTFD on a closed fd is EBADF, on a fd that is not an eventfd EINVAL', function () {
      const { raw, bus } = env();
      using dev = bus.open(DEV0);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(EVENTFD(), 0, 1, [100000])), -E.EBADF);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(EVENTFD(), 0, 1, [dev.fd])), -E.EINVAL);
    });

    it('argsz shorter than count eventfds is EINVAL; start + count beyond the vectors EINVAL', function () {
      const { raw, bus } = env();
      using dev = bus.open(DEV0);
      const [a] = eventfds(raw, 1);
      const short = irqSet(EVENTFD(), 0, 2, [a!]);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, short), -E.EINVAL);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(EVENTFD(), 3, 2, [a!, a!])), -E.EINVAL);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(EVENTFD(), 4, 0)), -E.EINVAL);
    });

    it('loopback signals exactly the vectors that have an eventfd, adding 1 each', function () {
      const { raw, bus } = env();
      using dev = bus.open(DEV0);
      const [a, b] = eventfds(raw, 2);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(EVENTFD(), 0, 2, [a!, b!])), 0);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(NONE(), 0, 4)), 0);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(NONE(), 1, 1)), 0);
      assert.equal(readEventfd(raw, a!), 1);
      assert.equal(readEventfd(raw, b!), 2);
    });

    it('DATA_BOOL loopback signals the vectors whose byte is non-zero', function () {
      const { raw, bus } = env();
      using dev = bus.open(DEV0);
      const [a, b] = eventfds(raw, 2);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(EVENTFD(), 0, 2, [a!, b!])), 0);
      const bool = irqSet(C.VFIO_IRQ_SET_DATA_BOOL! | TRIGGER(), 0, 2, [0, 7], 1);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, bool), 0);
      assert.equal(readEventfd(raw, a!), -E.EAGAIN);
      assert.equal(readEventfd(raw, b!), 1);
    });

    it('a negative fd de-assigns one vector; the others stay', function () {
      const { raw, bus } = env();
      using dev = bus.open(DEV0);
      const [a, b] = eventfds(raw, 2);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(EVENTFD(), 0, 2, [a!, b!])), 0);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(EVENTFD(), 0, 1, [-1])), 0);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(NONE(), 0, 2)), 0);
      assert.equal(readEventfd(raw, a!), -E.EAGAIN);
      assert.equal(readEventfd(raw, b!), 1);
    });

    it('a failure at vector k de-assigns [start..k], including vectors set before the call', function () {
      const { raw, bus } = env();
      using dev = bus.open(DEV0);
      const [a, b, c] = eventfds(raw, 3);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(EVENTFD(), 0, 3, [a!, b!, c!])), 0);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(EVENTFD(), 0, 2, [a!, 100000])), -E.EBADF);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(NONE(), 0, 3)), 0);
      assert.equal(readEventfd(raw, a!), -E.EAGAIN, 'vector 0 was de-assigned');
      assert.equal(readEventfd(raw, b!), -E.EAGAIN, 'vector 1 was de-assigned');
      assert.equal(readEventfd(raw, c!), 1, 'vector 2, after the failure, is untouched');
    });

    it('the kernel keeps its own reference: closing the user fd does not detach the vector', function () {
      const { raw, bus } = env();
      using dev = bus.open(DEV0);
      const a = raw.eventfd(0, SYS.EFD_CLOEXEC! | SYS.EFD_NONBLOCK!);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(EVENTFD(), 0, 1, [a])), 0);
      raw.close(a);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(NONE(), 0, 1)), 0);
    });

    it('EVENTFD with count 0 enables MSI at the controller without any trigger', function () {
      const { raw, bus } = env();
      using dev = bus.open(DEV0);
      using regs = dev.regions[0]!.map();
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(EVENTFD(), 0, 0)), 0);
      assert.equal(regs.read32(REG.MSI_ENABLE), 1);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(NONE(), 0, 0)), 0);
      assert.equal(regs.read32(REG.MSI_ENABLE), 0);
    });

    it('VFIO_DEVICE_RESET quiesces MSI at the controller (MC_CMD_CDX_DEVICE_RESET) while vfio-cdx keeps its triggers', function () {
      const { raw, bus } = env();
      using dev = bus.open(DEV0);
      using regs = dev.regions[0]!.map();
      const [a] = eventfds(raw, 1);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(EVENTFD(), 0, 1, [a!])), 0);
      assert.equal(regs.read32(REG.MSI_ENABLE), 1);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_RESET!, null), 0);
      assert.equal(regs.read32(REG.MSI_ENABLE), 0, 'the controller disabled MSI');
      assert.deepEqual([0, 4, 8].map((o) => regs.read32(0x20 + o)), [0, 0, 0], 'and forgot the MSI message');
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(NONE(), 0, 1)), 0, 'the kernel still has the trigger');
      assert.equal(readEventfd(raw, a!), 1);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(EVENTFD(), 0, 1, [a!])), 0,
        'setting a live vector again is allowed (the kernel frees and re-requests its IRQ)');
      assert.equal(regs.read32(REG.MSI_ENABLE), 0, 'but only SET_IRQS count 0 then EVENTFD enables MSI again');
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(NONE(), 0, 0)), 0);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(EVENTFD(), 0, 1, [a!])), 0);
      assert.equal(regs.read32(REG.MSI_ENABLE), 1);
    });

    it('ACTION_TRIGGER|MASK is accepted as TRIGGER; zero ACTION bits are EINVAL', function () {
      const { raw, bus } = env();
      using dev = bus.open(DEV0);
      const [a] = eventfds(raw, 1);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(EVENTFD() | C.VFIO_IRQ_SET_ACTION_MASK!, 0, 1, [a!])), 0);
      assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_SET_IRQS!, irqSet(C.VFIO_IRQ_SET_DATA_NONE!, 0, 1)), -E.EINVAL);
    });
  });
});

void DEV1;
