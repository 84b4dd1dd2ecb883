/**
 * Help texts: `vfio-cdx --help`, `vfio-cdx <command> --help`, `vfio-cdx help [command]`.
 * docs/cli.md says the same at more length.
 * @internal
 */

export const USAGE = `usage: vfio-cdx <command> [arguments] [--json] [--mock [profile]]
       vfio-cdx <command> --help | vfio-cdx --help | vfio-cdx --version`;

const GLOBAL = `${USAGE}

Drive AMD CDX bus devices through Linux vfio-cdx. <dev> is a CDX device name such as cdx-00:00.

commands:
  list [-v]                              CDX devices, their drivers and IOMMU groups
  info <dev>                             a device's sysfs attributes; regions and MSI when bound to vfio-cdx
  bind <dev>                             bind to vfio-cdx (driver_override, then bind)
  unbind <dev>                           unbind from its driver and clear driver_override
  reset <dev>                            reset through sysfs
  read <dev> <region> <offset>           one register read  [--width 8|16|32|64]
  write <dev> <region> <offset> <value>  one register write [--width 8|16|32|64]
  dump <dev> <region> [offset] [length]  hex dump with 32-bit reads (default: the first 256 bytes)
  watch <dev> [vectors]                  print MSI interrupts as they arrive, until Ctrl-C
  doctor [dev]                           what stands between this user and vfio-cdx (or the device)
  demo                                   a tour of one device (on the mock when there is no CDX bus)
  help [command]                         this text, or a command's

options:
  -h, --help          help (of the command, when one is given), on stdout
  --version           the version
  --json              machine-readable output on stdout (errors too, on stderr); not for demo or help
  --mock [profile]    run on a fresh mock kernel with the bundled fixture instead of this machine's
                      kernel; profile: linux-6.12 (default), linux-6.12-iommufd, cdev,
                      iommufd-compat, noiommu.
                      The fixture starts with cdx-00:00 (cdx-test registers, 4 MSI vectors) bound to
                      vfio-cdx (left unbound on linux-6.12-iommufd, whose vfio-cdx probe fails) and
                      cdx-00:01 unbound; a note on stderr says which. Each command gets a new mock:
                      nothing carries over from one command to the next.

exit status: 0 success; 1 the operation failed (doctor: the device, or vfio-cdx, is not usable);
2 usage error (unknown command or option, missing or extra argument, bad number).

Opening a device (info on a bound device, read, write, dump, watch, demo) makes the kernel reset it,
and its last close resets it again.`;

const COMMAND_HELP: Record<string, string> = {
  list: `usage: vfio-cdx list [-v] [--json] [--mock [profile]]

Lists the CDX devices (/sys/bus/cdx/devices): vendor:device, class, revision, driver, IOMMU group.
  -v, --verbose   also subsystem IDs, driver_override, the VFIO device and the modalias
Exit status 1 when the kernel has no CDX bus.`,
  info: `usage: vfio-cdx info <dev> [--json] [--mock [profile]]

The device's sysfs attributes. When it is bound to vfio-cdx, also opens it and shows how it was
opened, VFIO_DEVICE_GET_INFO, its regions (r/w/m: readable, writable, mappable), MSI vector count and
bus-master support. Opening the device makes the kernel reset it.`,
  bind: `usage: vfio-cdx bind <dev> [--json] [--mock [profile]]

Binds the device to vfio-cdx: writes driver_override, unbinds any other driver, and writes the
device's name to /sys/bus/cdx/drivers/vfio-cdx/bind, which reports the probe's error (EINVAL on a
CONFIG_IOMMUFD kernel whose vfio-cdx lacks .detach_ioas; see \`vfio-cdx doctor\`). A device already
bound to vfio-cdx is left as it is. Needs root.`,
  unbind: `usage: vfio-cdx unbind <dev> [--json] [--mock [profile]]

Unbinds the device from its driver and clears driver_override. Blocks while a process holds the
device open: vfio-cdx cannot ask it to let go. Needs root.`,
  reset: `usage: vfio-cdx reset <dev> [--json] [--mock [profile]]

Resets the device through /sys/bus/cdx/devices/<dev>/reset, without opening it. Needs root.`,
  read: `usage: vfio-cdx read <dev> <region> <offset> [--width 8|16|32|64] [--json] [--mock [profile]]

One read of exactly --width bits (default 32) at <offset> of region <region>, like devmem2. Numbers
are decimal or 0x-hex; the offset must be a multiple of the access size. Prints the value in hex and
decimal. The device must be bound to vfio-cdx and the region mappable. Opening the device makes the
kernel reset it, so the value is the one the reset leaves.`,
  write: `usage: vfio-cdx write <dev> <region> <offset> <value> [--width 8|16|32|64] [--json] [--mock [profile]]

One write of exactly --width bits (default 32) of <value> at <offset> of region <region>. The value
is not read back (a read can have side effects of its own). The kernel resets the device when the
command closes it, so the write lasts only until then: use it for registers that act at once.`,
  dump: `usage: vfio-cdx dump <dev> <region> [offset] [length] [--json] [--mock [profile]]

Hex dump of [offset, offset+length) of a region with 32-bit reads; offset and length are multiples
of 4 (default: offset 0, up to 256 bytes).`,
  watch: `usage: vfio-cdx watch <dev> [vectors] [--json] [--mock [profile]]

Enables MSI and prints each interrupt delivery as it arrives (time, vector, how many interrupts the
delivery carries: interrupts between two deliveries coalesce), until Ctrl-C (SIGINT) or SIGTERM,
then disables MSI, closes the device and exits with status 0. [vectors] is a list such as 0, 0,2
or 1-3 (default: all); vfio-cdx enables vectors 0..N-1 together, so vectors below the highest one
asked for are enabled too. With --json, one JSON object per line. Status lines go to stderr.`,
  doctor: `usage: vfio-cdx doctor [dev] [--dma <size>] [--json] [--mock [profile]]

Checks what vfio-cdx needs, read-only: the CDX bus; the vfio-cdx driver; whether this kernel's
CONFIG_IOMMUFD makes binding vfio-cdx fail with EINVAL (and how certain that is); no-IOMMU mode and
CAP_SYS_RAWIO; the /dev/vfio and /dev/iommu nodes and whether this user can open them; RLIMIT_MEMLOCK
against the DMA the program will pin. With <dev>: its driver, its IOMMU group, the group's members
and viability (it opens the group node, never the device, so nothing is reset).
  --dma <size>   DMA memory the program will pin (default 64M; K, M and G suffixes); a memlock limit
                 below an explicit --dma fails, below the default it warns
Each finding says what to do. Exit status 0 when nothing failed (the device is usable by this user),
1 when something did.`,
  demo: `usage: vfio-cdx demo [--mock [profile]]

A tour of one device: list, open, map a region, read registers; on the mock, also a write, bus
master, and a reset. Runs on the mock kernel when this machine has no CDX bus (or with --mock).`,
  help: `usage: vfio-cdx help [command]

The overall help, or a command's (the same as vfio-cdx <command> --help).`,
};

/** The help text for `command`, or the overall help. */
export function helpText(command: string | undefined): string {
  return command === undefined ? GLOBAL : COMMAND_HELP[command]!;
}
