/**
 * `doctor [dev]`: can this process use vfio-cdx (and this device) here, and if not, what to do.
 *
 * Everything is read through the kernel seam (the raw layer), so the same code runs on the real
 * kernel and on a MockKernel: sysfs, /dev, /proc/self/{status,limits}, and one open of the
 * device's group node (VFIO_GROUP_GET_STATUS), which does not touch the device — only opening the
 * device itself makes vfio-cdx reset it, and doctor never does that. docs/cli.md explains each
 * finding and the reasoning behind it.
 *
 * Each finding has a status (ok, info, warn, fail), a certainty (certain, likely, unknown), the
 * evidence it rests on, and what to do. The report is "usable" when nothing failed.
 * @internal
 */
import { CdxBus, isDeviceName, type CdxDeviceEntry } from '../bus';
import { errnoName } from '../errors';
import type { Kernel } from '../kernel';
import { MockKernel } from '../mock';
import type { NativeStat } from '../native';
import { abi, RawKernel, struct } from '../raw';
import { bytes } from './output';

export type Status = 'ok' | 'info' | 'warn' | 'fail';
export type Certainty = 'certain' | 'likely' | 'unknown';

/** One thing doctor checked. */
export interface Finding {
  /** 'cdx-bus', 'vfio-cdx', 'iommufd', 'iommu', 'noiommu', 'vfio-nodes', 'memlock', 'device', 'driver', 'iommu-group', 'open'. */
  id: string;
  status: Status;
  certainty: Certainty;
  summary: string;
  /** What the finding rests on: files read and what they said. */
  evidence: string[];
  /** What to do ('nothing to do' when all is well). */
  action: string;
}

/** What doctor found. */
export interface DoctorReport {
  /** 'Linux <release>', or "mock kernel '<profile>'". */
  kernel: string;
  device: string | null;
  /** The credentials file access is checked against (/proc/self/status), or null if unreadable. */
  user: { uid: number; gid: number; groups: number[]; capEff: string | null } | null;
  /** True when no finding failed: the device (or, without one, vfio-cdx on this system) is usable. */
  usable: boolean;
  findings: Finding[];
}

/** Options of {@link diagnose}. */
export interface DoctorOptions {
  /** DMA memory the program will pin, in bytes (default 64 MiB). */
  dmaBytes?: number;
  /** The DMA size was asked for (--dma): a memlock limit below it fails instead of warning. */
  dmaExplicit?: boolean;
}

export const DEFAULT_DMA_BYTES = 64 * 1024 * 1024;

const BUS = '/sys/bus/cdx';
const CAP_DAC_OVERRIDE = 1n;
const CAP_IPC_LOCK = 14n;
const CAP_SYS_RAWIO = 17n;
const NOTHING = 'nothing to do';
// Drivers that leave their IOMMU group free for VFIO (driver_managed_dma in the kernel).
const DMA_FREE_DRIVERS = /^(vfio.*|pci-stub|pcieport)$/;

/** Reads through the seam; every accessor returns null where the kernel said -errno. */
class Sys {
  constructor(readonly raw: RawKernel) {}
  stat(path: string): NativeStat | null {
    const r = this.raw.stat(path);
    return typeof r === 'number' ? null : r;
  }
  exists(path: string): boolean {
    return this.stat(path) !== null;
  }
  read(path: string): string | null {
    const r = this.raw.readFile(path);
    return typeof r === 'number' ? null : r;
  }
  link(path: string): string | null {
    const r = this.raw.readLink(path);
    return typeof r === 'number' ? null : r;
  }
  dir(path: string): string[] | null {
    const r = this.raw.readDir(path);
    return typeof r === 'number' ? null : r;
  }
}

interface Identity {
  uid: number;
  gid: number;
  groups: number[];
  caps: bigint | null;
}

interface CdxDev {
  name: string;
  driver: string | null;
  override: string | null;
  group: number | null;
  /** The group is the fake one no-IOMMU mode makes (its name is vfio-noiommu). */
  noiommuGroup: boolean;
  /** vfioM when bound to vfio-cdx with a cdev. */
  cdev: string | null;
}

interface IommufdState {
  enabled: boolean | null;
  evidence: string[];
}

const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);

function finding(id: string, status: Status, summary: string, action: string, evidence: string[] = [],
  certainty: Certainty = 'certain'): Finding {
  return { id, status, certainty, summary, evidence, action };
}

function readIdentity(sys: Sys): Identity | null {
  const s = sys.read('/proc/self/status');
  if (s === null) return null;
  const field = (k: string) => new RegExp(`^${k}:[ \\t]*(.*)$`, 'm').exec(s)?.[1]?.trim();
  const ids = (k: string) => (field(k) ?? '').split(/\s+/).map(Number);
  const uid = ids('Uid');
  const gid = ids('Gid');
  if (uid.length < 4 || gid.length < 4 || uid.some(Number.isNaN) || gid.some(Number.isNaN)) return null;
  const groups = (field('Groups') ?? '').split(/\s+/).filter((g) => g !== '').map(Number);
  const cap = field('CapEff');
  // File access is checked against the fsuid/fsgid: the fourth field.
  return { uid: uid[3]!, gid: gid[3]!, groups, caps: cap && /^[0-9a-f]+$/i.test(cap) ? BigInt('0x' + cap) : null };
}

function hasCap(id: Identity | null, cap: bigint): boolean | null {
  if (id === null) return null;
  if (id.caps === null) return id.uid === 0;
  return ((id.caps >> cap) & 1n) === 1n;
}

/** Whether `id` may open the node read/write (generic_permission), or null when unknown. */
function mayOpen(st: NativeStat, id: Identity | null): boolean | null {
  if (id === null) return null;
  if (hasCap(id, CAP_DAC_OVERRIDE)) return true;
  const bits = st.uid === id.uid ? (st.mode >> 6) & 7
    : st.gid === id.gid || id.groups.includes(st.gid) ? (st.mode >> 3) & 7 : st.mode & 7;
  return (bits & 6) === 6;
}

function modeText(st: NativeStat): string {
  return `mode 0${(st.mode & 0o777).toString(8).padStart(3, '0')}, owner uid ${st.uid} gid ${st.gid}`;
}

function readDevices(sys: Sys, bus: CdxBus): CdxDev[] {
  const names = (sys.dir(`${BUS}/devices`) ?? []).filter((n) => isDeviceName(n)).sort();
  // A device removed between the readdir and its reads is simply not listed.
  return names.map((name) => readDevice(sys, bus, name)).filter((d): d is CdxDev => d !== null);
}

// The device's driver, override, group and cdev as the library reads them (CdxSysfs, through
// CdxBus.device()), plus what only a diagnosis needs: the group's name attribute, which says
// "vfio-noiommu" for the fake group no-IOMMU mode makes even when the /dev node is missing, and
// whether the cdev's dev attribute exists.
function readDevice(sys: Sys, bus: CdxBus, name: string): CdxDev | null {
  let e: CdxDeviceEntry;
  try {
    e = bus.device(name);
  } catch {
    return null;  // gone, or unreadable: the device findings say what the reads of its nodes show
  }
  const dir = `${BUS}/devices/${name}`;
  const group = e.iommuGroup;
  const groupName = group === null ? null : sys.read(`/sys/kernel/iommu_groups/${group}/name`)?.trim() ?? null;
  const vfio = e.vfioDevice !== null && /^vfio\d+$/.test(e.vfioDevice) ? e.vfioDevice : null;
  return {
    name,
    driver: e.driver,
    override: e.driverOverride === '' ? null : e.driverOverride,
    group,
    noiommuGroup: groupName === 'vfio-noiommu',
    cdev: vfio !== null && sys.exists(`${dir}/vfio-dev/${vfio}/dev`) ? vfio : null,
  };
}

function groupNode(d: CdxDev): string | null {
  return d.group === null ? null : `/dev/vfio/${d.noiommuGroup ? 'noiommu-' : ''}${d.group}`;
}

// ---- CONFIG_IOMMUFD, and what it means for vfio-cdx

function iommufdState(sys: Sys, vfioCdxLoaded: boolean, release: string | null): IommufdState {
  const module = sys.exists('/sys/module/iommufd');
  const node = sys.exists('/dev/iommu');
  if (module || node) {
    return {
      enabled: true,
      evidence: [
        ...(module ? ['/sys/module/iommufd exists: iommufd is built in or loaded, so CONFIG_IOMMUFD is y or m'] : []),
        ...(node ? ['/dev/iommu exists: the iommufd device'] : []),
      ],
    };
  }
  const vfioPresent = vfioCdxLoaded || sys.exists('/sys/module/vfio');
  if (vfioPresent) {
    return {
      enabled: false,
      evidence: [`${vfioCdxLoaded ? 'vfio-cdx is loaded, so vfio is' : '/sys/module/vfio exists: vfio is loaded'}; ` +
        'a vfio built with CONFIG_IOMMUFD depends on iommufd, which would have made /sys/module/iommufd and ' +
        '/dev/iommu; neither exists, so CONFIG_IOMMUFD is off'],
    };
  }
  const configPath = release === null ? null : `/boot/config-${release}`;
  const config = configPath === null ? null : sys.read(configPath);
  if (config !== null) {
    const m = /^CONFIG_IOMMUFD=([ym])$/m.exec(config);
    if (m) return { enabled: true, evidence: [`${configPath}: CONFIG_IOMMUFD=${m[1]}`] };
    if (/^# CONFIG_IOMMUFD is not set$/m.test(config)) {
      return { enabled: false, evidence: [`${configPath}: CONFIG_IOMMUFD is not set`] };
    }
  }
  return {
    enabled: null,
    evidence: ['vfio is not loaded, and without it neither /sys/module/iommufd nor /dev/iommu says anything' +
      (configPath ? `; ${configPath} is not readable or does not mention CONFIG_IOMMUFD` : '')],
  };
}

const DETACH_IOAS_FIX = 'use a kernel built with CONFIG_IOMMUFD=n, or one whose vfio-cdx sets ' +
  '.detach_ioas = vfio_iommufd_physical_detach_ioas (drivers/vfio/cdx/main.c); if yours is patched, ' +
  'a successful `vfio-cdx bind <dev>` proves it';

/** The Linux 6.6+ CONFIG_IOMMUFD check that upstream vfio-cdx fails (docs/cli.md). */
function iommufdFinding(state: IommufdState, devices: CdxDev[]): Finding {
  const title = 'vfio-cdx and CONFIG_IOMMUFD';
  if (state.enabled === false) {
    return finding('iommufd', 'ok', `${title}: not affected: CONFIG_IOMMUFD is off, so VFIO does not ask ` +
      'drivers for .detach_ioas', NOTHING, state.evidence);
  }
  const bound = devices.filter((d) => d.driver === 'vfio-cdx');
  if (bound.length > 0) {
    return finding('iommufd', 'ok', `${title}: not affected: ${bound.map((d) => d.name).join(', ')} ` +
      `${bound.length === 1 ? 'is' : 'are'} bound to vfio-cdx, so vfio-cdx registers devices on this kernel`,
    NOTHING, [...state.evidence, 'a device bound to vfio-cdx got past __vfio_register_dev(), where the check is']);
  }
  if (state.enabled === null) {
    return finding('iommufd', 'warn', `${title}: cannot tell whether binding will fail`,
      'load vfio-cdx (`modprobe vfio-cdx`) and run doctor again, or look for CONFIG_IOMMUFD in the kernel\'s ' +
      'build config (/proc/config.gz, /boot/config-$(uname -r))', state.evidence, 'unknown');
  }
  const failed = devices.filter((d) => d.driver === null && d.override === 'vfio-cdx');
  const evidence = [
    ...state.evidence,
    'with CONFIG_IOMMUFD, __vfio_register_dev() refuses a driver without .detach_ioas (EINVAL and a WARNING ' +
      'in dmesg); upstream vfio-cdx has none from Linux 6.6 through at least 6.12',
    'no CDX device is bound to vfio-cdx, so nothing the kernel exposes tells a patched vfio-cdx from an ' +
      'unpatched one',
    ...failed.map((d) => `${d.name} has driver_override vfio-cdx but no driver: a vfio-cdx probe was tried and ` +
      'failed, which is what this bug leaves behind (dmesg: "vfio-cdx ... probe ... failed with error -22")'),
  ];
  return finding('iommufd', 'fail', `${title}: binding a device to vfio-cdx will fail with EINVAL`,
    DETACH_IOAS_FIX, evidence, 'likely');
}

// ---- no-IOMMU mode

/**
 * Whether a registered IOMMU translates for the CDX devices. The CDX bus's dma_configure
 * (cdx_dma_configure() → of_dma_configure_id() with force_dma off) stops before the IOMMU when the
 * controller's device-tree node has no dma-ranges: the board then has an SMMU in /sys/class/iommu
 * and yet its CDX devices get no IOMMU group (bound in no-IOMMU mode, a vfio-noiommu group). Seen on
 * the real driver in the arm64 SMMUv3 VM with the property removed.
 */
function iommuFinding(sys: Sys, target: CdxDev | null, devices: CdxDev[]): Finding {
  const iommus = registeredIommus(sys);
  const scope = target ? [target] : devices;
  const evidence = [iommus.length ? `/sys/class/iommu: ${iommus.join(', ')}` : '/sys/class/iommu is empty or missing'];
  for (const d of scope) {
    evidence.push(d.group !== null
      ? `${d.name}: iommu_group ${d.group}${d.noiommuGroup ? ' (a vfio-noiommu group, made by no-IOMMU mode)' : ''}`
      : `${d.name}: no iommu_group link` + (probed(d) ? ' after a probe' : ': never probed by a driver, and the ' +
        'IOMMU gives a CDX device its group only then (cdx_dma_configure() runs in really_probe())'));
  }
  if (iommus.length === 0) {
    return finding('iommu', 'info', 'IOMMU: none registered: DMA is untranslated (no-IOMMU mode only)', NOTHING, evidence);
  }
  // Only a device a driver has probed tells: the bus's dma_configure ran for it.
  const uncovered = scope.filter((d) => probed(d) && (d.group === null || d.noiommuGroup));
  const covered = scope.filter((d) => d.group !== null && !d.noiommuGroup);
  if (uncovered.length === 0) {
    return finding('iommu', covered.length ? 'ok' : 'info', `IOMMU: ${iommus.join(', ')}` +
      (covered.length ? ` translates for ${covered.map((d) => d.name).join(', ')}` : '; no CDX device probed yet to ' +
        'show whether it translates for them'), NOTHING, evidence);
  }
  const names = uncovered.map((d) => d.name).join(', ');
  return finding('iommu', 'warn', `IOMMU: ${iommus.join(', ')} is registered, but ${names} ` +
    `${uncovered.length === 1 ? 'has' : 'have'} no IOMMU group of ${uncovered.length === 1 ? 'its' : 'their'} own: ` +
    'the CDX controller\'s device-tree node probably lacks dma-ranges',
  'add dma-ranges (and iommu-map) to the CDX controller node ("xlnx,versal-net-cdx"): cdx_dma_configure() ' +
    'puts the devices behind the IOMMU only then. Until that, only no-IOMMU mode can take them (no DMA isolation, ' +
    'no DMA mapping)', evidence, 'likely');
}

/** The IOMMUs in /sys/class/iommu (iommu_device_sysfs_add()), sorted. */
function registeredIommus(sys: Sys): string[] {
  return (sys.dir('/sys/class/iommu') ?? []).sort();
}

/** A driver has probed the device: it is bound, or vfio-cdx's probe was tried (override set) and failed. */
function probed(d: CdxDev): boolean {
  return d.driver !== null || d.override === 'vfio-cdx';
}

function noiommuFinding(sys: Sys, id: Identity | null, target: CdxDev | null, devices: CdxDev[]): Finding {
  const param = '/sys/module/vfio/parameters/enable_unsafe_noiommu_mode';
  const value = sys.read(param);
  const enabled = value !== null && /^[Yy1]/.test(value);
  const rawio = hasCap(id, CAP_SYS_RAWIO);
  const evidence = [
    value === null ? `${param} does not exist: this kernel has no CONFIG_VFIO_NOIOMMU (or vfio is not loaded)`
      : `${param} is ${value.trim()}`,
    rawio === null ? 'CAP_SYS_RAWIO: unknown (/proc/self/status unreadable)'
      : `this process ${rawio ? 'holds' : 'lacks'} CAP_SYS_RAWIO (CapEff in /proc/self/status)`,
  ];
  const scope = target ? [target] : devices;
  const inGroup = scope.filter((d) => d.noiommuGroup);
  // With an IOMMU registered, a device no driver has probed has no group yet (it gets one at probe):
  // that says nothing about no-IOMMU mode.
  const iommu = registeredIommus(sys).length > 0;
  const noGroup = scope.filter((d) => d.group === null && !(iommu && !probed(d)));
  const rawioFix = 'run as root, or give the program CAP_SYS_RAWIO (`setcap cap_sys_rawio+ep` on its node binary, ' +
    'or AmbientCapabilities=CAP_SYS_RAWIO in a systemd unit)';
  if (scope.length === 0) {
    return finding('noiommu', 'info', `no-IOMMU mode: ${value === null ? 'not in this kernel' : enabled ? 'on' : 'off'}; ` +
      'no CDX device to need it', NOTHING, evidence);
  }
  if (inGroup.length === 0 && noGroup.length === 0) {
    const later = iommu && scope.some((d) => d.group === null) ? ', or gets one when a driver probes it' : '';
    return finding('noiommu', 'info', `no-IOMMU mode: not needed (${target ? `${target.name} has` : 'each CDX device ' +
      'has'} an IOMMU group${later})`, NOTHING, evidence);
  }
  const names = (ds: CdxDev[]) => ds.map((d) => d.name).join(', ');
  if (noGroup.length > 0 && value === null) {
    return finding('noiommu', 'fail', `no-IOMMU mode: ${names(noGroup)} ${noGroup.length === 1 ? 'has' : 'have'} no ` +
      'IOMMU group and this kernel has no no-IOMMU mode: VFIO cannot take ' + (noGroup.length === 1 ? 'it' : 'them'),
    'use a kernel built with CONFIG_VFIO_NOIOMMU=y (unsafe: no DMA isolation), or one whose IOMMU (SMMU) covers ' +
      'the CDX devices', evidence);
  }
  if (noGroup.length > 0 && !enabled) {
    return finding('noiommu', 'fail', `no-IOMMU mode: off, and ${names(noGroup)} ${noGroup.length === 1 ? 'has' : 'have'} ` +
      'no IOMMU group: binding to vfio-cdx fails with EINVAL',
    `turn it on before binding: \`echo 1 | sudo tee ${param}\` (or boot with vfio.enable_unsafe_noiommu_mode=1)`,
    evidence);
  }
  if (rawio === false) {
    return finding('noiommu', 'fail', 'no-IOMMU mode: opening a no-IOMMU group needs CAP_SYS_RAWIO, which this ' +
      'process lacks', rawioFix, evidence);
  }
  const binding = noGroup.length ? ` (binding ${names(noGroup)} makes a noiommu group)` : '';
  return finding('noiommu', 'ok', `no-IOMMU mode: on${binding}; no DMA isolation and no DMA mapping ` +
    '(dma.alloc() is refused)', NOTHING, evidence, rawio === null ? 'unknown' : 'certain');
}

// ---- /dev/vfio and /dev/iommu

const UDEV_RULE = 'a udev rule, e.g. /etc/udev/rules.d/70-vfio-cdx.rules with\n' +
  '    SUBSYSTEM=="vfio", GROUP="vfio", MODE="0660"\n' +
  '    SUBSYSTEM=="vfio-dev", GROUP="vfio", MODE="0660"\n' +
  '    KERNEL=="iommu", GROUP="vfio", MODE="0660"\n' +
  '  then `groupadd -r vfio && usermod -aG vfio $USER` (log in again), `udevadm control --reload && udevadm trigger`';

function accessFix(paths: string[], id: Identity | null): string {
  return `give this user read/write access: ${UDEV_RULE}; or, until the node is made again (reboot, rebind), ` +
    `\`sudo chown ${id?.uid ?? '$USER'} ${paths.join(' ')}\``;
}

interface NodeAccess {
  path: string;
  st: NativeStat | null;
  ok: boolean | null;
}

function nodeAccess(sys: Sys, id: Identity | null, path: string): NodeAccess {
  const st = sys.stat(path);
  return { path, st, ok: st === null ? false : mayOpen(st, id) };
}

function describeNode(n: NodeAccess): string {
  if (n.st === null) return `${n.path}: does not exist`;
  return `${n.path}: ${modeText(n.st)}: ${n.ok === null ? 'access unknown' : n.ok ? 'this user can open it' : 'this user cannot open it'}`;
}

/** Whether the device can be opened by this user on some path: group (container + group) or cdev (+ /dev/iommu). */
function pathsFor(sys: Sys, id: Identity | null, d: CdxDev): { group: NodeAccess[]; cdev: NodeAccess[] | null } {
  const g = groupNode(d);
  const group = [nodeAccess(sys, id, '/dev/vfio/vfio'), ...(g ? [nodeAccess(sys, id, g)] : [])];
  const cdev = d.cdev ? [nodeAccess(sys, id, `/dev/vfio/devices/${d.cdev}`), nodeAccess(sys, id, '/dev/iommu')] : null;
  return { group, cdev };
}

const usablePath = (ns: NodeAccess[] | null) => ns !== null && ns.every((n) => n.ok === true);

function nodesFinding(sys: Sys, id: Identity | null, devices: CdxDev[], target: CdxDev | null): Finding {
  const listed = new Set<string>(['/dev/vfio/vfio', '/dev/iommu']);
  for (const n of sys.dir('/dev/vfio') ?? []) if (n !== 'vfio' && n !== 'devices') listed.add(`/dev/vfio/${n}`);
  for (const n of sys.dir('/dev/vfio/devices') ?? []) listed.add(`/dev/vfio/devices/${n}`);
  const nodes = [...listed].map((p) => nodeAccess(sys, id, p));
  const evidence = nodes.map(describeNode);
  const present = nodes.filter((n) => n.st !== null).length;
  if (id === null) evidence.push('/proc/self/status is unreadable: access for this user is unknown');
  if (!sys.exists('/dev/vfio')) {
    return finding('vfio-nodes', 'info', '/dev/vfio does not exist: vfio is not loaded (loading vfio-cdx loads it)',
      NOTHING, evidence);
  }
  // Without a device: every device bound to vfio-cdx must be reachable by some path.
  // With one: that device's own nodes are the 'open' finding's business; here they are listed.
  const blocked = target ? [] : devices.filter((d) => d.driver === 'vfio-cdx').filter((d) => {
    const p = pathsFor(sys, id, d);
    return !usablePath(p.group) && !usablePath(p.cdev);
  });
  if (blocked.length > 0) {
    const paths = blocked.flatMap((d) => pathsFor(sys, id, d).group.filter((n) => n.ok === false).map((n) => n.path));
    return finding('vfio-nodes', 'fail', `/dev/vfio: this user cannot open the nodes of ${blocked.map((d) => d.name).join(', ')}`,
      accessFix([...new Set(paths)], id), evidence);
  }
  return finding('vfio-nodes', 'info', `/dev/vfio: ${present} node${present === 1 ? '' : 's'}`, NOTHING,
    evidence, id === null ? 'unknown' : 'certain');
}

// ---- RLIMIT_MEMLOCK

function memlockFinding(sys: Sys, id: Identity | null, devices: CdxDev[], target: CdxDev | null,
  need: number, explicit: boolean): Finding {
  const limits = sys.read('/proc/self/limits');
  const m = limits === null ? null : /^Max locked memory\s+(\S+)\s+(\S+)/m.exec(limits);
  const parse = (v: string) => (v === 'unlimited' ? Infinity : Number(v));
  const scope = target ? [target] : devices;
  if (scope.length > 0 && scope.every((d) => d.noiommuGroup || d.group === null)) {
    return finding('memlock', 'info', 'RLIMIT_MEMLOCK: does not apply: in no-IOMMU mode nothing is mapped for DMA',
      NOTHING, m ? [`/proc/self/limits: Max locked memory ${m[1]} (hard ${m[2]})`] : []);
  }
  if (m === null) {
    return finding('memlock', 'warn', 'RLIMIT_MEMLOCK: unknown (/proc/self/limits is unreadable)',
      'check `ulimit -l` in the shell that starts the program', [], 'unknown');
  }
  const soft = parse(m[1]!);
  const hard = parse(m[2]!);
  const show = (v: number) => (v === Infinity ? 'unlimited' : bytes(v));
  const evidence = [`/proc/self/limits: Max locked memory ${m[1]} bytes soft, ${m[2]} hard`,
    `DMA to pin: ${bytes(need)}${explicit ? ' (--dma)' : ' (the default; say --dma <size>)'}`,
    'every DMA buffer is pinned, page-rounded, and counts against this limit together with any mlock()ed memory'];
  if (hasCap(id, CAP_IPC_LOCK)) {
    return finding('memlock', 'ok', 'RLIMIT_MEMLOCK: does not limit this process: it holds CAP_IPC_LOCK', NOTHING,
      [...evidence, 'CapEff in /proc/self/status includes CAP_IPC_LOCK']);
  }
  if (soft >= need) {
    return finding('memlock', 'ok', `RLIMIT_MEMLOCK: ${show(soft)}, enough for ${bytes(need)} of DMA`, NOTHING, evidence);
  }
  const kib = Math.ceil(need / 1024);
  const action = (hard >= need
    ? `raise it in the shell that starts the program: \`ulimit -l ${kib}\` (the hard limit, ${show(hard)}, allows it)`
    : `the hard limit (${show(hard)}) is below it too, and raising that needs root: \`<user> - memlock ${kib}\` ` +
      'in /etc/security/limits.conf (log in again)') + ', or LimitMEMLOCK= in a systemd unit';
  return finding('memlock', explicit ? 'fail' : 'warn', `RLIMIT_MEMLOCK: ${show(soft)}, below the ${bytes(need)} ` +
    'of DMA: mapping more fails with ENOMEM', action, evidence);
}

// ---- the device

function deviceFindings(sys: Sys, raw: RawKernel, id: Identity | null, d: CdxDev, iommufd: Finding): Finding[] {
  const out: Finding[] = [];
  const bugLikely = iommufd.status === 'fail';
  const bindAction = `bind it: \`vfio-cdx bind ${d.name}\` (as root)` +
    (bugLikely ? '; but see the CONFIG_IOMMUFD finding: the bind will likely fail' : '');
  if (d.driver === 'vfio-cdx') {
    out.push(finding('driver', 'ok', `${d.name}: bound to vfio-cdx`, NOTHING,
      [`${BUS}/devices/${d.name}/driver -> vfio-cdx`]));
  } else if (d.driver !== null) {
    out.push(finding('driver', 'fail', `${d.name}: bound to ${d.driver}, not vfio-cdx`,
      `${bindAction} (it unbinds ${d.driver} first)`, [`${BUS}/devices/${d.name}/driver -> ${d.driver}`]));
  } else if (d.override === 'vfio-cdx') {
    out.push(finding('driver', 'fail', `${d.name}: not bound, although driver_override is vfio-cdx: a vfio-cdx ` +
      'probe failed', bugLikely ? DETACH_IOAS_FIX : 'see dmesg for the probe error, then `vfio-cdx bind ' + d.name +
      '`, which reports it', [`${BUS}/devices/${d.name}/driver_override: vfio-cdx`, 'no driver link']));
  } else {
    out.push(finding('driver', 'fail', `${d.name}: not bound to a driver`, bindAction, ['no driver link']));
  }

  if (d.group === null) {
    out.push(finding('iommu-group', 'info', `${d.name}: no IOMMU group (no IOMMU translates for it): see no-IOMMU mode`,
      NOTHING, [`${BUS}/devices/${d.name}/iommu_group does not exist`]));
  } else {
    const members = (sys.dir(`/sys/kernel/iommu_groups/${d.group}/devices`) ?? []).sort();
    const withDrivers = members.map((m) => {
      const link = sys.link(`/sys/kernel/iommu_groups/${d.group}/devices/${m}/driver`);
      return { name: m, driver: link === null ? null : basename(link) };
    });
    const blockers = withDrivers.filter((m) => m.name !== d.name && m.driver !== null && !DMA_FREE_DRIVERS.test(m.driver));
    const evidence = [`group ${d.group}${d.noiommuGroup ? ' (vfio-noiommu)' : ''}: ` +
      withDrivers.map((m) => `${m.name} (${m.driver ?? 'no driver'})`).join(', ')];
    if (blockers.length > 0) {
      out.push(finding('iommu-group', 'fail', `${d.name}: IOMMU group ${d.group} is not viable: ` +
        blockers.map((b) => `${b.name} is bound to ${b.driver}`).join(', '),
      `unbind ${blockers.map((b) => b.name).join(', ')} (or bind ${blockers.length === 1 ? 'it' : 'them'} to a VFIO ` +
        'driver too): every device of an IOMMU group goes to userspace together', evidence, 'likely'));
    } else {
      out.push(finding('iommu-group', 'ok', `${d.name}: IOMMU group ${d.group}, members ${members.join(', ')}: ` +
        'none is held by a kernel DMA driver', NOTHING, evidence, 'likely'));
    }
  }

  if (d.driver !== 'vfio-cdx') return out;
  const open = openFinding(sys, raw, id, d);
  const group = out.find((f) => f.id === 'iommu-group');
  if (group !== undefined && open.evidence.some((e) => e.endsWith('VIABLE'))) {
    group.certainty = 'certain';
    group.evidence.push('VFIO_GROUP_GET_STATUS says VIABLE (see below)');
  }
  out.push(open);
  return out;
}

/** Whether this user can open the bound device: node modes, then the group's own answer. */
function openFinding(sys: Sys, raw: RawKernel, id: Identity | null, d: CdxDev): Finding {
  const paths = pathsFor(sys, id, d);
  const evidence = [...paths.group, ...(paths.cdev ?? [])].map(describeNode);
  const groupOk = usablePath(paths.group);
  const cdevOk = usablePath(paths.cdev);
  if (!groupOk && !cdevOk) {
    const denied = [...paths.group, ...(paths.cdev ?? [])].filter((n) => n.st !== null && n.ok === false);
    if (id === null) {
      return finding('open', 'warn', `${d.name}: cannot tell whether this user can open its nodes`,
        'check the modes below against the user that runs the program', evidence, 'unknown');
    }
    if (denied.length > 0) {
      return finding('open', 'fail', `${d.name}: this user cannot open ${denied.map((n) => n.path).join(', ')}`,
        accessFix(denied.map((n) => n.path), id), evidence);
    }
    return finding('open', 'fail', `${d.name}: its VFIO nodes are missing`, 'rebind it (`vfio-cdx unbind`, ' +
      '`vfio-cdx bind`) and check that devtmpfs is mounted on /dev', evidence);
  }
  if (!groupOk) {
    return finding('open', 'ok', `${d.name}: this user can open it through the cdev path ` +
      `(/dev/vfio/devices/${d.cdev} with /dev/iommu)`, NOTHING, evidence);
  }
  return groupStatus(raw, d, evidence, cdevOk);
}

/** Opens the group node (not the device: no reset) and asks VFIO_GROUP_GET_STATUS. */
function groupStatus(raw: RawKernel, d: CdxDev, evidence: string[], cdevOk: boolean): Finding {
  const node = groupNode(d)!;
  const { constants, sys: flags } = abi();
  const fd = raw.open(node, flags.O_RDWR! | flags.O_CLOEXEC!);
  if (fd < 0) {
    const errno = errnoName(-fd);
    if (errno === 'EBUSY') {
      return finding('open', 'fail', `${d.name}: ${node} is already open (EBUSY): another process is using the group`,
        `stop the other user first (\`fuser -v ${node}\` names it); a group is opened by one process at a time`, evidence);
    }
    if (errno === 'EPERM') {
      return finding('open', 'fail', `${d.name}: opening ${node} is refused (EPERM)`, d.noiommuGroup
        ? 'no-IOMMU groups need CAP_SYS_RAWIO: run as root or grant it' : 'run as root', evidence);
    }
    return finding('open', 'fail', `${d.name}: opening ${node} failed with ${errno}`,
      'see the error `vfio-cdx info ' + d.name + '` gives', evidence);
  }
  const status = struct('vfio_group_status');
  const rc = raw.ioctl(fd, constants.VFIO_GROUP_GET_STATUS!, status.bytes);
  raw.close(fd);
  const viable = rc === 0 && (Number(status.get('flags')) & constants.VFIO_GROUP_FLAGS_VIABLE!) !== 0;
  evidence.push(`opened ${node} (this does not touch the device) and asked VFIO_GROUP_GET_STATUS: ` +
    (rc < 0 ? errnoName(-rc) : viable ? 'VIABLE' : 'not viable'));
  if (!viable) {
    return finding('open', 'fail', `${d.name}: the kernel says group ${d.group} is not viable`,
      'every device of the group must be unbound or bound to a VFIO driver, and no other process may hold it',
      evidence);
  }
  return finding('open', 'ok', `${d.name}: this user can open it (group path${cdevOk ? ', and the cdev path' : ''}); ` +
    `group ${d.group} is viable`, NOTHING, evidence);
}

/**
 * Checks this system (and a device, if named) for what vfio-cdx needs.
 * @param kernel a MockKernel, or undefined for the running kernel
 */
export function diagnose(kernel: Kernel | undefined, device: string | null, options: DoctorOptions = {}): DoctorReport {
  const raw = new RawKernel(kernel);
  const sys = new Sys(raw);
  const cdx = new CdxBus({ kernel });
  const need = options.dmaBytes ?? DEFAULT_DMA_BYTES;
  const release = sys.read('/proc/sys/kernel/osrelease')?.trim() ?? null;
  const mockProfile = kernel instanceof MockKernel ? String(kernel.config.profile) : null;
  const id = readIdentity(sys);
  const findings: Finding[] = [];

  const bus = sys.exists(BUS);
  const devices = bus ? readDevices(sys, cdx) : [];
  if (!bus) {
    findings.push(finding('cdx-bus', 'fail', `CDX bus: none (${BUS} does not exist)`,
      'CDX devices exist on AMD Versal and Versal Net (arm64), with a kernel built with CONFIG_CDX_BUS and ' +
      'CONFIG_CDX_CONTROLLER; elsewhere, try the commands on the bundled mock with --mock'));
  } else if (devices.length === 0) {
    findings.push(finding('cdx-bus', 'warn', 'CDX bus: present, but it has no devices',
      'the controller finds devices once the FPGA design is loaded; rescan with `echo 1 | sudo tee /sys/bus/cdx/rescan`'));
  } else {
    findings.push(finding('cdx-bus', 'ok', `CDX bus: ${devices.length} device${devices.length === 1 ? '' : 's'}: ` +
      devices.map((d) => `${d.name} (${d.driver ?? 'no driver'})`).join(', '), NOTHING));
  }

  const vfioCdx = bus && sys.exists(`${BUS}/drivers/vfio-cdx`);
  if (bus) {
    findings.push(vfioCdx
      ? finding('vfio-cdx', 'ok', `vfio-cdx driver: loaded (${BUS}/drivers/vfio-cdx)`, NOTHING)
      : finding('vfio-cdx', 'fail', `vfio-cdx driver: not loaded (no ${BUS}/drivers/vfio-cdx)`,
        '`sudo modprobe vfio-cdx` (the kernel needs CONFIG_VFIO_CDX)'));
  }
  const iommufd = iommufdFinding(iommufdState(sys, vfioCdx, release), devices);
  if (bus) findings.push(iommufd);

  let target: CdxDev | null = null;
  if (device !== null) {
    target = bus ? readDevice(sys, cdx, device) : null;
    if (target === null) {
      findings.push(finding('device', 'fail', `${device}: no such CDX device` + (bus ? '' : ' (no CDX bus)'),
        bus ? '`vfio-cdx list` shows the devices there are' : 'see the CDX bus finding'));
    }
  }
  if (bus) findings.push(iommuFinding(sys, target, devices));
  findings.push(noiommuFinding(sys, id, target, devices));
  findings.push(nodesFinding(sys, id, devices, target));
  findings.push(memlockFinding(sys, id, devices, target, need, options.dmaExplicit ?? false));
  if (target !== null) findings.push(...deviceFindings(sys, raw, id, target, iommufd));

  return {
    kernel: mockProfile !== null ? `mock kernel '${mockProfile}'` : `Linux ${release ?? '(release unknown)'}`,
    device,
    user: id === null ? null : { uid: id.uid, gid: id.gid, groups: id.groups, capEff: id.caps === null ? null : id.caps.toString(16) },
    usable: findings.every((f) => f.status !== 'fail'),
    findings,
  };
}

const LABEL: Record<Status, string> = { ok: 'ok  ', info: 'info', warn: 'warn', fail: 'FAIL' };

/** The report as text: one block per finding, then the verdict. */
export function renderReport(r: DoctorReport): string {
  const user = r.user === null ? 'user unknown' : `uid ${r.user.uid} gid ${r.user.gid}`;
  const lines = [`vfio-cdx doctor: ${r.kernel}, ${user}${r.device ? `, device ${r.device}` : ''}`];
  for (const f of r.findings) {
    lines.push(`[${LABEL[f.status]}] ${f.summary}${f.certainty === 'certain' ? '' : ` (${f.certainty})`}`);
    for (const e of f.evidence) lines.push(`         - ${e}`);
    if (f.action !== NOTHING) lines.push(`         -> ${f.action}`);
  }
  const fails = r.findings.filter((f) => f.status === 'fail').length;
  const what = r.device ?? 'vfio-cdx';
  lines.push(r.usable ? `${what}: usable by this user${r.device ? '' : ' on this system'}`
    : `${what}: NOT usable: ${fails} problem${fails === 1 ? '' : 's'} (FAIL above)`);
  return lines.join('\n');
}
