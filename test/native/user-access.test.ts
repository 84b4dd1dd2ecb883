// How the mock reads and writes ioctl arguments in user memory (its copy_from_user /
// copy_to_user). It never dereferences a user pointer itself: it uses process_vm_readv/writev
// on its own pid where they work, and otherwise (qemu-user, seccomp) a pipe, whose write(2)
// and read(2) report a bad pointer as EFAULT just as the kernel's copies do.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { CdxBus } from '../../lib';
import { MockKernel } from '../../lib/mock';
import { RawKernel } from '../../lib/raw';
import { C, E, struct } from '../helpers/raw-open';
import { nodeCommand } from '../helpers/node-exec';

const lib = path.join(__dirname, '..', '..', 'lib');

/** Runs `body` in a fresh Node whose mock picks its user-copy method under VFIO_CDX_MOCK_UACCESS=`only`. */
function child(only: string, body: string): { status: number | null; stdout: string; stderr: string } {
  const script = `const { MockKernel } = require(${JSON.stringify(lib + '/mock')});
    const { RawKernel } = require(${JSON.stringify(lib + '/raw')}); ${body}`;
  return spawnSync(...nodeCommand(['-e', script]), { encoding: 'utf8', env: { ...process.env, VFIO_CDX_MOCK_UACCESS: only } });
}

describe('mock user-memory access (copy_from_user / copy_to_user)', function () {
  this.timeout(300_000);  // child Node start-ups, seconds each under qemu-user

  it('reports the method it uses; VFIO_CDX_MOCK_UACCESS, when set, decides it', function () {
    const kernel = MockKernel.fixture();
    const method = kernel.config.userAccess;
    assert.ok(method === 'process_vm' || method === 'pipe', String(method));
    const forced = process.env.VFIO_CDX_MOCK_UACCESS;
    if (forced === 'pipe' || forced === 'process_vm') assert.equal(method, forced);
  });

  it('a struct ioctl reads and writes its argument; NULL and an unmapped pointer are EFAULT', function () {
    const kernel = MockKernel.fixture();
    const raw = new RawKernel(kernel);
    const bus = new CdxBus({ kernel });
    bus.bind('cdx-00:00');
    using dev = bus.open('cdx-00:00');
    const r = struct('vfio_region_info', { index: 0 });
    assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_GET_REGION_INFO!, r.bytes), 0);
    assert.equal(r.get('size'), 4096n, 'copy_to_user wrote the answer back');
    assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_GET_REGION_INFO!, 0n), -E.EFAULT);
    assert.equal(raw.ioctl(dev.fd, C.VFIO_DEVICE_GET_REGION_INFO!, 16n), -E.EFAULT);
  });

  it('forced to the pipe, a copy that crosses into an unreadable page is EFAULT and leaves the pipe empty for the next copy', function () {
    const r = child('pipe', `
      const { CdxBus } = require(${JSON.stringify(lib)});
      const k = MockKernel.fixture({ bound: true }); const raw = new RawKernel(k);
      if (k.config.userAccess !== 'pipe') throw new Error('method ' + k.config.userAccess);
      const { constants: C, sys: SYS } = require(${JSON.stringify(lib + '/raw')}).abi();
      const dev = new CdxBus({ kernel: k }).open('cdx-00:00');
      // Two pages: the first readable and writable, the second not mapped at all.
      const m = raw.mmap(-1, 0, 8192, SYS.PROT_READ | SYS.PROT_WRITE, SYS.MAP_PRIVATE | SYS.MAP_ANONYMOUS);
      raw.munmap(m.address + 4096n, 4096);
      const out = [];
      out.push(raw.ioctl(dev.fd, C.VFIO_DEVICE_GET_REGION_INFO, m.address + 4096n - 8n));  // 8 of its 32 bytes readable
      const info = new Uint32Array(8); info[0] = 32;
      out.push(raw.ioctl(dev.fd, C.VFIO_DEVICE_GET_REGION_INFO, info), info[4]);  // size low word
      dev.close(); raw.munmap(m.address, 4096);
      console.log(JSON.stringify(out));`);
    assert.equal(r.status, 0, r.stderr);
    const [crossing, after, size] = JSON.parse(r.stdout) as number[];
    assert.equal(crossing, -E.EFAULT, 'the straddling argument is refused');
    assert.equal(after, 0, 'a later copy is not disturbed by leftovers of the faulted one');
    assert.equal(size, 4096);
  });

  it('where no method works, creating a mock kernel throws ERR_VFIO_MOCK_NO_USER_ACCESS saying what was tried', function () {
    const r = child('none', `
      try { MockKernel.fixture(); console.log('created'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`);
    assert.equal(r.status, 0, r.stderr);
    const e = JSON.parse(r.stdout) as { code: string; message: string };
    assert.equal(e.code, 'ERR_VFIO_MOCK_NO_USER_ACCESS');
    assert.match(e.message, /EFAULT/);
    assert.match(e.message, /VFIO_CDX_MOCK_UACCESS=none/);
  });
});
