// The conventions of the vfio-cdx command line, checked on the spawned binary: help and version on
// stdout with status 0, usage errors with status 2, failed operations with status 1 and the
// device named, nothing silently ignored, --json errors, and what --mock says about its fixture.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertFailed, assertOk, assertUsage, cli, harness } from '../helpers/cli-run';

const COMMANDS = ['list', 'info', 'bind', 'unbind', 'reset', 'read', 'write', 'dump', 'watch', 'doctor', 'demo', 'help'];

describe('vfio-cdx CLI conventions', function () {
  this.timeout(Math.max(this.timeout(), 120_000));  // each case spawns node; nothing here depends on how fast that is

  describe('help and version', function () {
    it('--help and -h print the overall help on stdout and exit 0', function () {
      for (const r of [cli('--help'), cli('-h')]) {
        assertOk(r, /^usage: vfio-cdx <command>/);
        assert.equal(r.stderr, '');
        for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c}\\b`, 'm'), `help lists ${c}`);
        assert.match(r.stdout, /exit status: 0 success; 1 the operation failed .*\n2 usage error/);
      }
    });

    it('each command has its own --help, also reachable as `help <command>`', function () {
      for (const c of COMMANDS) {
        const r = cli(c, '--help');
        assertOk(r, new RegExp(`^usage: vfio-cdx ${c}\\b`));
        assert.equal(r.stderr, '');
        if (c === 'doctor' || c === 'watch') assert.equal(cli('help', c).stdout, r.stdout);
      }
    });

    it('--help wins over missing arguments, and works after them', function () {
      assertOk(cli('read', '--help'), /^usage: vfio-cdx read <dev> <region> <offset>/);
      assertOk(cli('write', 'cdx-00:00', '-h'), /^usage: vfio-cdx write/);
    });

    it('--version prints the package version and exits 0', function () {
      const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
      const r = cli('--version');
      assertOk(r);
      assert.equal(r.stdout, `vfio-cdx ${pkg.version}\n`);
    });
  });

  describe('usage errors exit 2', function () {
    it('no command: the short usage on stderr', function () {
      assertUsage(cli(), /^usage: vfio-cdx <command>/);
    });

    it('an unknown command', function () {
      assertUsage(cli('frobnicate'), /unknown command 'frobnicate'/);
    });

    it('an unknown option, long or short, and a value given to a flag', function () {
      assertUsage(cli('list', '--frob'), /unknown option '--frob'/);
      assertUsage(cli('list', '-x'), /unknown option '-x'/);
      assertUsage(cli('list', '--json=yes'), /'--json' takes no value/);
    });

    it('an option the command does not take: list --width, read -v', function () {
      assertUsage(cli('list', '--width', '8'), /'--width' does not apply to 'list'/);
      assertUsage(cli('read', 'cdx-00:00', '0', '0', '-v'), /'--verbose' does not apply to 'read'/);
      assertUsage(cli('bind', 'cdx-00:00', '--dma', '1M'), /'--dma' does not apply to 'bind'/);
    });

    it('demo --json and help --json: commands without JSON output say so', function () {
      for (const [r, message] of [[cli('demo', '--json'), "'demo' has no JSON output"],
        [cli('help', '--json'), "option '--json' does not apply to 'help'"]] as const) {
        assert.equal(r.status, 2);
        assert.equal(r.stdout, '');
        assert.deepEqual(JSON.parse(r.stderr), { error: message, code: 'ERR_USAGE' });
      }
    });

    it('a missing argument', function () {
      assertUsage(cli('info'), /missing argument <dev>/);
      assertUsage(cli('write', 'cdx-00:00', '0', '0'), /missing argument <value>/);
    });

    it('an extra argument: a second device name, list with an argument', function () {
      assertUsage(cli('info', 'cdx-00:00', 'cdx-00:01'), /unexpected argument 'cdx-00:01'/);
      assertUsage(cli('list', 'cdx-00:00'), /unexpected argument 'cdx-00:00'/);
      assertUsage(cli('doctor', 'cdx-00:00', 'cdx-00:01'), /unexpected argument 'cdx-00:01'/);
    });

    it('a malformed device name', function () {
      assertUsage(cli('info', 'cdx-0:0'), /'cdx-0:0' is not a CDX device name/);
      assertUsage(cli('reset', '../../x'), /is not a CDX device name/);
    });

    it('bad numbers, widths, sizes and vector lists, before any kernel is touched', function () {
      for (const r of [cli('read', 'cdx-00:00', 'zero', '0', '--mock'), cli('write', 'cdx-00:00', '0', '0', '1.5', '--mock')]) {
        assertUsage(r, /is not a number \(decimal, or hex with 0x\)/);
        assert.doesNotMatch(r.stderr, /mock kernel/, 'no kernel was set up');
      }
      assertUsage(cli('read', 'cdx-00:00', '0', '0', '--width', '12'), /--width must be 8, 16, 32 or 64, not '12'/);
      assertUsage(cli('read', 'cdx-00:00', '0', '0', '--width'), /'--width' needs a value/);
      assertUsage(cli('read', 'cdx-00:00', '0', '4', '--width', '64'), /offset 0x4 is not aligned to 8 bytes/);
      assertUsage(cli('write', 'cdx-00:00', '0', '0', '0x100', '--width', '8'), /value 0x100 does not fit in 8 bits/);
      assertUsage(cli('doctor', '--dma', 'lots'), /--dma 'lots' is not a size/);
      assertUsage(cli('watch', 'cdx-00:00', 'all'), /vectors 'all' is not a list/);
    });

    it('an unknown --mock profile, given with = or as the next word', function () {
      assertUsage(cli('list', '--mock=linux-5.4'), /unknown mock profile 'linux-5.4' \(profiles: linux-6.12, linux-6.12-iommufd, cdev, iommufd-compat, noiommu\)/);
      assertUsage(cli('--mock', 'linux-5.4', 'list'), /unknown command 'linux-5.4' \(if it was meant as the --mock profile/);
    });

    it('usage errors point at the command\'s own help', function () {
      assert.match(cli('read', 'cdx-00:00').stderr, /Try 'vfio-cdx read --help'\./);
      assert.match(cli('frobnicate').stderr, /Try 'vfio-cdx --help'\./);
    });

    it('with --json, a usage error is one JSON line on stderr', function () {
      const r = cli('info', '--json');
      assert.equal(r.status, 2);
      assert.deepEqual(JSON.parse(r.stderr), { error: 'missing argument <dev>', code: 'ERR_USAGE' });
    });
  });

  describe('failed operations exit 1 and name the device', function () {
    it('a device the kernel does not have', function () {
      assertFailed(cli('info', 'cdx-00:7f', '--mock'), 'cdx-00:7f', /ENOENT/);
      assertFailed(cli('read', 'cdx-00:7f', '0', '0', '--mock'), 'cdx-00:7f', /ENOENT/);
      assertFailed(cli('bind', 'cdx-00:7f', '--mock'), 'cdx-00:7f', /ENOENT/);
    });

    it('a device that is not bound to vfio-cdx cannot be opened', function () {
      assertFailed(cli('read', 'cdx-00:01', '0', '0', '--mock'), 'cdx-00:01', /not bound/);
      assertFailed(cli('watch', 'cdx-00:01', '--mock'), 'cdx-00:01', /not bound/);
    });

    it('the kernel\'s errno and the hint reach the user: bind on stock 6.12 with CONFIG_IOMMUFD is EINVAL', function () {
      const r = cli('bind', 'cdx-00:01', '--mock', 'linux-6.12-iommufd');
      assertFailed(r, 'cdx-00:01', /EINVAL: invalid argument, write '\/sys\/bus\/cdx\/drivers\/vfio-cdx\/bind'.*detach_ioas/);
    });

    it('with --json, the error is one JSON object on stderr with code and device', function () {
      const r = cli('read', 'cdx-00:01', '0', '0', '--mock', '--json');
      assert.equal(r.status, 1);
      assert.equal(r.stdout, '');
      const line = r.stderr.trim().split('\n').pop()!;
      assert.deepEqual(JSON.parse(line), {
        error: 'cdx-00:01 is not bound to any driver: bind it to vfio-cdx first', code: 'ERR_VFIO_NOT_BOUND', device: 'cdx-00:01',
      });
    });

    it('on a kernel without a CDX bus, list fails with ENOENT from scandir and says there is no bus', function () {
      const r = harness({ cdxBus: false }, 'list');
      assert.equal(r.status, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^vfio-cdx: ENOENT: .*scandir '\/sys\/bus\/cdx\/devices' \(this kernel has no CDX bus/);
    });
  });

  describe('--mock', function () {
    it('says on stderr which profile runs and what state each fixture device starts in', function () {
      const expected: Record<string, RegExp> = {
        'linux-6.12': /cdx-00:00 bound to vfio-cdx, cdx-00:01 unbound/,
        'linux-6.12-iommufd': /cdx-00:00 unbound \(driver_override vfio-cdx, but its probe failed\), cdx-00:01 unbound/,
        cdev: /cdx-00:00 bound to vfio-cdx, cdx-00:01 unbound/,
        noiommu: /cdx-00:00 bound to vfio-cdx, cdx-00:01 unbound/,
      };
      for (const [profile, state] of Object.entries(expected)) {
        const r = cli('list', '--json', '--mock', profile);
        assertOk(r);
        assert.equal(JSON.parse(r.stdout).length, 2, 'stdout holds only the data');
        assert.match(r.stderr, new RegExp(`^vfio-cdx: mock kernel '${profile}' \\(.*\\), fresh for this command: `));
        assert.match(r.stderr, state);
      }
    });

    it('a bare --mock is linux-6.12, anywhere on the line; --mock=<profile> works too', function () {
      assert.match(cli('--mock', 'list').stderr, /mock kernel 'linux-6.12'/);
      assert.match(cli('list', '--mock=cdev').stderr, /mock kernel 'cdev'/);
    });

    it('each command gets a fresh mock: what one command did is gone in the next', function () {
      assertOk(cli('unbind', 'cdx-00:00', '--mock'), /cdx-00:00 unbound from vfio-cdx/);
      assertOk(cli('read', 'cdx-00:00', '0', '0', '--mock'), /0xcd5e0000/);
    });
  });
});
