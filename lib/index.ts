/**
 * vfio-cdx: userspace drivers for AMD CDX bus devices, through Linux vfio-cdx.
 *
 * ```ts
 * import { CdxBus } from 'vfio-cdx';
 * const bus = new CdxBus();
 * bus.bind('cdx-00:00');
 * using dev = bus.open('cdx-00:00');
 * const regs = dev.regions[0].map();
 * regs.write32(0x28, 0x100);
 * ```
 */
export { CdxBus, type CdxBusOptions, type CdxDeviceEntry, type OpenOptions } from './bus';
export { BusMaster, Device, Region, type DeviceInfo, type MapOptions } from './device';
export { Mapping, type AccessorMode } from './mapping';
export { Msi, MsiVector, type WaitOptions } from './msi';
export { Dma, DmaBuffer, type DmaAllocOptions, type IovaRange } from './dma';
export { VfioError, errnoName, errnoNumber, type CodedError } from './errors';
export { Kernel, SystemKernel, systemKernel } from './kernel';
