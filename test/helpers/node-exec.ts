/**
 * How a test starts another Node process running the same Node as itself.
 *
 * Normally that is process.execPath. Under qemu-user (the arm64 tier,
 * scripts/test-arm64.sh) process.execPath is an arm64 binary that the host
 * cannot execute without binfmt_misc, so the runner sets VFIO_CDX_TEST_EXEC_PREFIX
 * to the emulator command (for example `qemu-aarch64 -L /usr/aarch64-linux-gnu`)
 * and children start through it, under the same emulator as the parent.
 */
const prefix = (process.env.VFIO_CDX_TEST_EXEC_PREFIX ?? '').split(' ').filter((s) => s !== '');

/** `[file, args]` for spawnSync/execFileSync: this Node with `args`. */
export function nodeCommand(args: string[]): [string, string[]] {
  if (prefix.length === 0) return [process.execPath, args];
  return [prefix[0]!, [...prefix.slice(1), process.execPath, ...args]];
}
