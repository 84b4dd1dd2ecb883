/**
 * Runs the CLI's main() in this process on a mock kernel the test controls, so the test can act
 * as the hardware while a command such as `watch` runs (a spawned `vfio-cdx --mock` has its own
 * mock, which nothing outside it can reach).
 *
 *   node cli-harness.js '<mock options as JSON>' <cli arguments...>
 *
 * The mock options are MockKernel.create()'s, with `bound` (default ['cdx-00:00']) naming the
 * fixture devices to create bound. Lines on stdin act on the device side:
 *   raise <device> <vector>   the device raises MSI <vector>; answers "harness: raised <vector> <delivered>"
 * When main() resolves, one line reports the result and the devices' state as the kernel sees it:
 *   harness: done {"status":0,"devices":{"cdx-00:00":{"msiEnabled":false,"openCount":0}, ...}}
 * Harness lines go to stderr; stdout is the CLI's own.
 */
import * as readline from 'node:readline';
import { main } from '../../lib/cli';
import { fixtureDevices, MockKernel, type MockKernelOptions } from '../../lib/mock';

const [config = '{}', ...args] = process.argv.slice(2);
const { bound = ['cdx-00:00'], ...options } = JSON.parse(config) as MockKernelOptions & { bound?: string[] };
// A kernel without a CDX bus takes no devices.
const devices = options.cdxBus === false ? [] : fixtureDevices().map((d) => ({
  ...d,
  bound: bound.includes(`cdx-${(d.bus ?? 0).toString(16).padStart(2, '0')}:${d.dev.toString(16).padStart(2, '0')}`),
}));
const kernel = MockKernel.create({ ...options, devices });

const input = readline.createInterface({ input: process.stdin });
input.on('line', (line) => {
  const [verb, device, vector] = line.trim().split(/\s+/);
  if (verb === 'raise') {
    const delivered = kernel.device(device!).raiseMsi(Number(vector));
    process.stderr.write(`harness: raised ${vector} ${delivered}\n`);
  }
});

void main(args, { kernel }).then((status) => {
  const state: Record<string, { msiEnabled: boolean; openCount: number }> = {};
  for (const name of kernel.devices) {
    const d = kernel.device(name);
    state[name] = { msiEnabled: d.msiEnabled, openCount: d.openCount };
  }
  process.stderr.write(`harness: done ${JSON.stringify({ status, devices: state })}\n`);
  input.close();
  process.stdin.destroy();
  process.exitCode = status;
});
