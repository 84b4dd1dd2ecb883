// SPDX-License-Identifier: MIT
/*
 * cdxsmoke — smoke check of the VM tier against the real vfio-cdx driver.
 *
 * Usage (inside the VM, as root): cdxsmoke fixed|stock
 *
 *   fixed: binds cdx-00:00 and cdx-00:01 through sysfs, opens them through the
 *          no-IOMMU group/container path and checks GET_INFO, region info,
 *          mmap of the register page, RESET, bus master, SET_IRQS with
 *          eventfds and a doorbell-raised MSI, and the non-mmappable region.
 *   stock: checks the upstream 6.12 failure: drivers_probe succeeds but no
 *          driver gets bound, and drivers/vfio-cdx/bind fails with EINVAL.
 *
 * Expected values come from fixtures/cdx-test-devices.json (the sim's devices).
 * Built static against the 6.12 uapi headers (make headers_install).
 * Prints one line per check and "N passed, N failed"; exit status 0 if all pass.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#ifndef VFIO_DEVICE_FLAGS_CDX
#error "needs the 6.12 uapi headers (VFIO_DEVICE_FLAGS_CDX)"
#endif

/* The cdx-test register model (fixtures/cdx-test-devices.json). */
#define REG_ID 0x00
#define REG_VERSION 0x04
#define REG_BUS_MASTER 0x08
#define REG_RESET_COUNT 0x0c
#define REG_MSI_ENABLE 0x10
#define REG_MSI_DOORBELL 0x14
#define REG_MSI_FIRED 0x18
#define REG_MSI_TABLE 0x20
#define REG_SCRATCH 0x100
#define ID_BASE 0xcd5e0000u
#define MODEL_VERSION 0x00010000u
#define NUM_MSI 4

static int passed, failed;

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "ok    " : "FAILED");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
}

/* Write a sysfs file in one write(2); returns 0 or -errno. */
static int sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

static int read_link_base(const char *path, char *out, size_t len)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	const char *base;
	size_t blen;

	if (n < 0)
		return -errno;
	buf[n] = 0;
	base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	blen = strlen(base);
	if (blen >= len)
		return -ENAMETOOLONG;
	memcpy(out, base, blen + 1);
	return 0;
}

static long read_hex(const char *path)
{
	char buf[64] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strtol(buf, NULL, 0);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static volatile uint32_t *reg(void *base, unsigned int off)
{
	return (volatile uint32_t *)((char *)base + off);
}

/* driver_override + drivers_probe, as a user would bind a CDX device. */
static int bind_vfio(const char *dev)
{
	char path[256];
	int err;

	snprintf(path, sizeof(path), "/sys/bus/cdx/devices/%s/driver_override", dev);
	err = sysfs_write(path, "vfio-cdx");
	if (err)
		return err;
	return sysfs_write("/sys/bus/cdx/drivers_probe", dev);
}

static int bound_driver(const char *dev, char *drv, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/bus/cdx/devices/%s/driver", dev);
	return read_link_base(path, drv, len);
}

/*
 * Opens dev through its group and a new container; returns the device fd. The group node is
 * /dev/vfio/N, or /dev/vfio/noiommu-N when only that exists (a no-IOMMU group): the node's name
 * is how the library and the tests tell the two apart too, never CHECK_EXTENSION, which answers
 * 1 for NOIOMMU wherever CONFIG_VFIO_NOIOMMU is set (docs/kernel-rules.md K-GROUP-7, K-COMPAT-1).
 */
static int open_device(const char *dev)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[256], group[64];
	struct stat st;
	int container, group_fd, fd, noiommu;

	snprintf(path, sizeof(path), "/sys/bus/cdx/devices/%s/iommu_group", dev);
	if (read_link_base(path, group, sizeof(group))) {
		check(0, "%s: iommu_group link", dev);
		return -1;
	}
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	check(container >= 0, "%s: open /dev/vfio/vfio", dev);
	if (container < 0)
		return -1;
	check(ioctl(container, VFIO_GET_API_VERSION) == VFIO_API_VERSION, "%s: VFIO_GET_API_VERSION", dev);
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	noiommu = stat(path, &st) != 0 && errno == ENOENT;
	if (noiommu) {
		snprintf(path, sizeof(path), "/dev/vfio/noiommu-%s", group);
		check(ioctl(container, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) == 1,
		      "%s: CHECK_EXTENSION(NOIOMMU) = 1", dev);
	}
	group_fd = open(path, O_RDWR | O_CLOEXEC);
	check(group_fd >= 0, "%s: open %s", dev, path);
	if (group_fd < 0)
		return -1;
	check(ioctl(group_fd, VFIO_GROUP_GET_STATUS, &status) == 0 &&
	      (status.flags & VFIO_GROUP_FLAGS_VIABLE), "%s: group viable", dev);
	check(ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &container) == 0, "%s: GROUP_SET_CONTAINER", dev);
	check(ioctl(container, VFIO_SET_IOMMU, noiommu ? VFIO_NOIOMMU_IOMMU : VFIO_TYPE1v2_IOMMU) == 0,
	      "%s: SET_IOMMU(%s)", dev, noiommu ? "NOIOMMU" : "TYPE1v2");
	fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, dev);
	check(fd >= 0, "%s: GROUP_GET_DEVICE_FD (%s)", dev, fd < 0 ? strerror(errno) : "ok");
	return fd;
}

static int region_info(int fd, unsigned int index, struct vfio_region_info *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->argsz = sizeof(*ri);
	ri->index = index;
	return ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, ri);
}

static int set_irqs_eventfd(int fd, unsigned int start, unsigned int count, const int *efds)
{
	char buf[sizeof(struct vfio_irq_set) + NUM_MSI * sizeof(int)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;

	memset(buf, 0, sizeof(buf));
	set->argsz = sizeof(*set) + count * sizeof(int);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = 0;
	set->start = start;
	set->count = count;
	memcpy(set->data, efds, count * sizeof(int));
	return ioctl(fd, VFIO_DEVICE_SET_IRQS, set);
}

static int set_irqs_none(int fd, unsigned int start, unsigned int count)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = 0, .start = start, .count = count,
	};

	return ioctl(fd, VFIO_DEVICE_SET_IRQS, &set);
}

static int bus_master(int fd, uint32_t flags, uint32_t op)
{
	char buf[sizeof(struct vfio_device_feature) + sizeof(struct vfio_device_feature_bus_master)];
	struct vfio_device_feature *f = (struct vfio_device_feature *)buf;
	struct vfio_device_feature_bus_master bm = { .op = op };

	f->argsz = sizeof(buf);
	f->flags = flags | VFIO_DEVICE_FEATURE_BUS_MASTER;
	memcpy(f->data, &bm, sizeof(bm));
	return ioctl(fd, VFIO_DEVICE_FEATURE, f);
}

/* Waits up to timeout_ms for the eventfd; returns its counter or 0. */
static uint64_t wait_eventfd(int efd, int timeout_ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t v = 0;

	if (poll(&p, 1, timeout_ms) == 1 && read(efd, &v, sizeof(v)) == sizeof(v))
		return v;
	return 0;
}

static void test_msi(int fd, void *regs)
{
	struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = 0 };
	int efd[NUM_MSI], i, ok;
	uint32_t fired0;
	double t0, dt;
	uint64_t v;

	/* call first: argument evaluation order is unspecified */
	ok = ioctl(fd, VFIO_DEVICE_GET_IRQ_INFO, &irq) == 0;
	check(ok && irq.flags == 0x9 && irq.count == NUM_MSI,
	      "cdx-00:00: GET_IRQ_INFO flags 0x%x (want 0x9), count %u (want %d)", irq.flags, irq.count, NUM_MSI);
	for (i = 0; i < NUM_MSI; i++)
		efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ok = set_irqs_eventfd(fd, 0, NUM_MSI, efd) == 0;
	check(ok, "cdx-00:00: SET_IRQS eventfd x%d (%s)", NUM_MSI, ok ? "ok" : strerror(errno));
	if (!ok)
		return;
	check(*reg(regs, REG_MSI_ENABLE) == 1, "cdx-00:00: MSI_ENABLE = 1 after SET_IRQS");
	for (i = 0; i < NUM_MSI; i++) {
		volatile uint32_t *t = reg(regs, REG_MSI_TABLE + 12 * i);

		check(t[0] == 0xfee00000u && t[1] == 0 && t[2] == (uint32_t)i,
		      "cdx-00:00: MSI_TABLE[%d] = %08x:%08x data %u (want fee00000, data = hwirq %d)",
		      i, t[1], t[0], t[2], i);
	}

	fired0 = *reg(regs, REG_MSI_FIRED);
	t0 = now_ms();
	*reg(regs, REG_MSI_DOORBELL) = 2; /* raise vector 1 */
	v = wait_eventfd(efd[1], 2000);
	dt = now_ms() - t0;
	check(v == 1, "cdx-00:00: doorbell 2 -> eventfd of vector 1 fired (%.2f ms)", dt);
	check(*reg(regs, REG_MSI_FIRED) == fired0 + 1 && *reg(regs, REG_MSI_DOORBELL) == 0,
	      "cdx-00:00: MSI_FIRED %u -> %u, doorbell cleared", fired0, *reg(regs, REG_MSI_FIRED));
	check(wait_eventfd(efd[0], 0) == 0 && wait_eventfd(efd[2], 0) == 0,
	      "cdx-00:00: other vectors quiet");

	check(set_irqs_none(fd, 3, 1) == 0 && wait_eventfd(efd[3], 1000) == 1,
	      "cdx-00:00: SET_IRQS DATA_NONE loopback on vector 3");

	*reg(regs, REG_MSI_DOORBELL) = NUM_MSI + 1; /* no such vector */
	usleep(20000);
	check(*reg(regs, REG_MSI_DOORBELL) == 0 && *reg(regs, REG_MSI_FIRED) == fired0 + 1,
	      "cdx-00:00: doorbell for a vector out of range is cleared, not counted");

	/* a vector without a trigger: the device still raises (and counts) it */
	{
		int none = -1;

		check(set_irqs_eventfd(fd, 2, 1, &none) == 0, "cdx-00:00: SET_IRQS fd -1 detaches vector 2");
	}
	*reg(regs, REG_MSI_DOORBELL) = 3;
	usleep(20000);
	check(*reg(regs, REG_MSI_DOORBELL) == 0 && *reg(regs, REG_MSI_FIRED) == fired0 + 2 &&
	      wait_eventfd(efd[2], 0) == 0,
	      "cdx-00:00: doorbell for a detached vector: counted (MSI_FIRED %u), no eventfd", *reg(regs, REG_MSI_FIRED));

	check(set_irqs_none(fd, 0, 0) == 0 && *reg(regs, REG_MSI_ENABLE) == 0,
	      "cdx-00:00: SET_IRQS count 0 disables MSI (MSI_ENABLE = 0)");
	*reg(regs, REG_MSI_DOORBELL) = 1;
	usleep(20000);
	check(*reg(regs, REG_MSI_DOORBELL) == 1 && *reg(regs, REG_MSI_FIRED) == fired0 + 2,
	      "cdx-00:00: with MSI disabled the doorbell is left alone");
	*reg(regs, REG_MSI_DOORBELL) = 0;
	for (i = 0; i < NUM_MSI; i++)
		close(efd[i]);
}

static void test_fixed(void)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info ri;
	char drv[64] = "";
	uint32_t resets;
	void *regs, *ro, *p;
	int fd, fd1, ok;

	check(read_hex("/sys/bus/cdx/devices/cdx-00:00/vendor") == 0x10ee &&
	      read_hex("/sys/bus/cdx/devices/cdx-00:00/device") == 0x8084,
	      "cdx-00:00: vendor 0x10ee device 0x8084");
	check(bind_vfio("cdx-00:00") == 0, "cdx-00:00: driver_override + drivers_probe");
	ok = bound_driver("cdx-00:00", drv, sizeof(drv)) == 0;
	check(ok && !strcmp(drv, "vfio-cdx"),
	      "cdx-00:00: bound to vfio-cdx (driver link: %s)", drv[0] ? drv : "none");

	fd = open_device("cdx-00:00");
	if (fd < 0)
		return;
	ok = ioctl(fd, VFIO_DEVICE_GET_INFO, &info) == 0;
	check(ok && info.flags == (VFIO_DEVICE_FLAGS_CDX | VFIO_DEVICE_FLAGS_RESET) &&
	      info.num_regions == 2 && info.num_irqs == 1,
	      "cdx-00:00: GET_INFO flags 0x%x (want 0x101), %u regions, %u irqs", info.flags, info.num_regions,
	      info.num_irqs);
	ok = region_info(fd, 0, &ri) == 0;
	check(ok && ri.flags == 0x7 && ri.size == 4096 && ri.offset == 0,
	      "cdx-00:00: region 0 flags 0x%x (want 0x7) size %llu offset 0x%llx", ri.flags,
	      (unsigned long long)ri.size, (unsigned long long)ri.offset);
	regs = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, ri.offset);
	check(regs != MAP_FAILED, "cdx-00:00: mmap region 0 RW");
	ok = region_info(fd, 1, &ri) == 0;
	check(ok && ri.flags == 0x5 && ri.size == 4096 && ri.offset == 1ull << 40,
	      "cdx-00:00: region 1 flags 0x%x (want 0x5) size %llu offset 0x%llx", ri.flags,
	      (unsigned long long)ri.size, (unsigned long long)ri.offset);
	if (regs == MAP_FAILED)
		return;

	check(*reg(regs, REG_ID) == (ID_BASE | 0) && *reg(regs, REG_VERSION) == MODEL_VERSION,
	      "cdx-00:00: ID 0x%08x VERSION 0x%08x through mmap", *reg(regs, REG_ID), *reg(regs, REG_VERSION));

	ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, ri.offset);
	check(ro != MAP_FAILED && *reg(ro, 0) == 0xa5000000u && *reg(ro, 4 * 1023) == (0xa5000000u | 1023),
	      "cdx-00:00: read-only region 1 holds 0xa5000000 | i");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, ri.offset);
	check(p == MAP_FAILED && errno == EPERM, "cdx-00:00: PROT_WRITE mmap of region 1 -> EPERM");

	/* reset */
	*reg(regs, REG_SCRATCH) = 0xcafef00d;
	resets = *reg(regs, REG_RESET_COUNT);
	check(resets >= 1, "cdx-00:00: RESET_COUNT %u >= 1 (open resets the device)", resets);
	check(ioctl(fd, VFIO_DEVICE_RESET) == 0, "cdx-00:00: VFIO_DEVICE_RESET");
	check(*reg(regs, REG_RESET_COUNT) == resets + 1 && *reg(regs, REG_SCRATCH) == 0 &&
	      *reg(regs, REG_ID) == ID_BASE,
	      "cdx-00:00: reset bumped RESET_COUNT %u -> %u, cleared SCRATCH, kept ID", resets,
	      *reg(regs, REG_RESET_COUNT));

	/* bus master */
	check(bus_master(fd, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET, 0) == 0,
	      "cdx-00:00: FEATURE PROBE|SET bus master");
	check(bus_master(fd, VFIO_DEVICE_FEATURE_SET, VFIO_DEVICE_FEATURE_SET_MASTER) == 0 &&
	      *reg(regs, REG_BUS_MASTER) == 1, "cdx-00:00: SET_MASTER mirrored (BUS_MASTER = 1)");
	check(bus_master(fd, VFIO_DEVICE_FEATURE_SET, VFIO_DEVICE_FEATURE_CLEAR_MASTER) == 0 &&
	      *reg(regs, REG_BUS_MASTER) == 0, "cdx-00:00: CLEAR_MASTER mirrored (BUS_MASTER = 0)");

	test_msi(fd, regs);

	/* second device: no MSI, 64 KiB region, 2 KiB region without MMAP */
	drv[0] = 0;
	ok = bind_vfio("cdx-00:01") == 0 && bound_driver("cdx-00:01", drv, sizeof(drv)) == 0;
	check(ok && !strcmp(drv, "vfio-cdx"), "cdx-00:01: bound to vfio-cdx (driver link: %s)",
	      drv[0] ? drv : "none");
	fd1 = open_device("cdx-00:01");
	if (fd1 < 0)
		return;
	memset(&info, 0, sizeof(info));
	info.argsz = sizeof(info);
	ok = ioctl(fd1, VFIO_DEVICE_GET_INFO, &info) == 0;
	check(ok && info.num_regions == 2 && info.num_irqs == 0,
	      "cdx-00:01: GET_INFO %u regions, %u irqs (want 2, 0)", info.num_regions, info.num_irqs);
	ok = region_info(fd1, 0, &ri) == 0;
	check(ok && ri.flags == 0x7 && ri.size == 65536, "cdx-00:01: region 0 flags 0x%x size %llu (want 0x7, 65536)",
	      ri.flags, (unsigned long long)ri.size);
	ok = region_info(fd1, 1, &ri) == 0;
	check(ok && ri.flags == 0x3 && ri.size == 2048, "cdx-00:01: region 1 flags 0x%x size %llu (want 0x3, 2048)",
	      ri.flags, (unsigned long long)ri.size);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd1, ri.offset);
	check(p == MAP_FAILED && errno == EINVAL, "cdx-00:01: mmap of the 2 KiB region -> EINVAL");
	close(fd1);
	close(fd);
}

static void test_stock(void)
{
	char drv[64] = "";
	struct stat st;
	int err;

	check(stat("/dev/vfio/vfio", &st) == 0, "/dev/vfio/vfio exists (VFIO core is there)");
	check(bind_vfio("cdx-00:00") == 0, "cdx-00:00: driver_override + drivers_probe succeed");
	check(bound_driver("cdx-00:00", drv, sizeof(drv)) == -ENOENT,
	      "cdx-00:00: no driver link after drivers_probe (probe failed: no .detach_ioas)");
	err = sysfs_write("/sys/bus/cdx/drivers/vfio-cdx/bind", "cdx-00:00");
	check(err == -EINVAL, "cdx-00:00: write to drivers/vfio-cdx/bind -> %s (want EINVAL)",
	      err ? strerror(-err) : "success");
	check(stat("/sys/bus/cdx/devices/cdx-00:00/iommu_group", &st) != 0,
	      "cdx-00:00: no iommu group was created");
}

int main(int argc, char **argv)
{
	if (argc != 2 || (strcmp(argv[1], "fixed") && strcmp(argv[1], "stock"))) {
		fprintf(stderr, "usage: cdxsmoke fixed|stock\n");
		return 2;
	}
	if (!strcmp(argv[1], "fixed"))
		test_fixed();
	else
		test_stock();
	printf("cdxsmoke (%s kernel)\n", argv[1]);
	printf("cdxsmoke: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
