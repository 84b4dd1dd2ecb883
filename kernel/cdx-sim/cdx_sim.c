// SPDX-License-Identifier: GPL-2.0
/*
 * cdx-sim: a simulated CDX bus controller, to run the CDX bus core and
 * vfio-cdx without Versal hardware (the vfio-cdx project's QEMU test VM).
 *
 * Copyright (C) 2026 The vfio-cdx project authors
 *
 * The controller sits on a platform device ("cdx-sim") and reports the
 * devices of cdx_sim_devices.h, a table generated from the project's
 * fixtures/cdx-test-devices.json. Every device region is backed by zeroed
 * kernel pages, which vfio-cdx maps to userspace like MMIO.
 *
 * Devices of the "cdx-test" model have a register region (layout in the
 * header). dev_configure() mirrors bus master and MSI enable into it,
 * records the MSI address/data programmed for each vector, and resets the
 * device: every region gets its initial contents back, then RESET_COUNT
 * counts the reset. While a device has MSI enabled, a delayed work polls its
 * MSI_DOORBELL every jiffy: when it holds v + 1, the device writes 0 back
 * and, if v is one of its vectors, counts the MSI in MSI_FIRED (a count over
 * the device's lifetime, like RESET_COUNT) and raises vector v. The registers
 * are updated before the interrupt is delivered, so whoever waits for the
 * interrupt sees the final state. With MSI disabled the doorbell is left
 * alone. This is the behaviour of the project's mock device model.
 *
 * The same register page holds a bus-master copy engine (DMA_*): the driver
 * writes a source IOVA, a destination IOVA and a length, then DMA_CTRL = GO
 * (| IRQ | vector << 8). The poll takes the job (DMA_CTRL back to 0) and copies
 * through the IOMMU domain the device is attached to right now
 * (iommu_get_domain_for_dev() + iommu_iova_to_phys() page by page: the type1
 * container's domain, the iommufd HWPT, or the blocking domain after a
 * DETACH), then writes DMA_STATUS (DONE, or ERROR | errno: EINVAL for a bad
 * length, EPERM with bus mastering off, EFAULT for an IOVA without
 * translation, which includes every IOVA of a device with no IOMMU domain),
 * counts the job in DMA_DONE and, with IRQ, raises the vector. The poll runs
 * every jiffy while some device has MSI or bus mastering enabled, every 10
 * jiffies otherwise. iommu_iova_to_phys() does not report permissions, so a
 * write into a read-only IOMMU mapping is not refused (real hardware would
 * fault; the mock's model does refuse it).
 *
 * MSI, two modes chosen at init:
 * - Device-tree mode (arm64): when a "xlnx,versal-net-cdx" node exists, the
 *   controller is its platform device, the upstream CDX MSI domain
 *   (cdx_msi_domain_init(), msi-map to the GIC ITS) gives real LPIs, and
 *   raising a vector makes it pending at the ITS (irq_set_irqchip_state()).
 *   The platform device's drvdata is the controller, so /sys/bus/cdx/rescan
 *   finds it and rescans the sim's devices. The node's iommu-map and
 *   dma-ranges put the devices behind an SMMU (cdx_dma_configure() at probe).
 * - Software mode (x86, no such node): the upstream domain needs a DT msi-map
 *   to a GIC ITS, which x86 does not have. When built in, the sim creates its
 *   own software MSI domain on top of a small root irq domain
 *   (msi_create_irq_domain() is not exported, hence built-in only).
 *   vfio-cdx's unmodified MSI code allocates from it through cdx_enable_msi()
 *   and msi_domain_alloc_irqs(); raising a vector calls
 *   generic_handle_domain_irq_safe() on the root domain, which runs the
 *   handler vfio-cdx requested (it signals the user's eventfd). There the sim
 *   never implements rescan: /sys/bus/cdx/rescan only finds controllers
 *   through a "xlnx,versal-net-cdx" DT node, so writing it removes the sim's
 *   devices for good.
 */

#include <linux/cdx/cdx_bus.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/interrupt.h>
#include <linux/iommu.h>
#include <linux/irq.h>
#include <linux/irqdomain.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/msi.h>
#include <linux/of.h>
#include <linux/of_platform.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "../cdx.h"
#include "cdx_sim_devices.h"

#if !defined(MODULE) && IS_ENABLED(CONFIG_GENERIC_MSI_IRQ)
#define CDX_SIM_MSI 1
#else
#define CDX_SIM_MSI 0
#endif

/* Address composed into every MSI message: where an x86 MSI write would go. */
#define CDX_SIM_MSI_ADDR	0xfee00000U
/* hwirq of vector v of a device: the upstream CDX scheme (req_id << 10) | v. */
#define CDX_SIM_HWIRQ(req_id, v)	(((irq_hw_number_t)(req_id) << 10) | (v))
#define CDX_SIM_MAX_BUSES	(CDX_BUS_NUM_MASK + 1)
/* The DT node whose platform device becomes the controller (device-tree mode). */
#define CDX_SIM_COMPATIBLE	"xlnx,versal-net-cdx"
/* Poll periods (jiffies): while some device has MSI or bus mastering on, and otherwise. */
#define CDX_SIM_POLL_ACTIVE	1
#define CDX_SIM_POLL_IDLE	10

struct cdx_sim_region {
	struct page *pages;
	unsigned int order;
	void *va;
};

/**
 * struct cdx_sim_dev - one simulated device
 * @desc: its line of the generated table
 * @regions: backing memory of each region
 * @lock: serialises dev_configure() and the doorbell poll on this device
 * @req_id: requester ID, (bus << 8) | dev; also the MSI device ID
 * @resets: resets so far (RESET_COUNT)
 * @fired: MSIs raised so far (MSI_FIRED)
 * @dma_done: copy-engine jobs finished so far (DMA_DONE)
 * @bus_master: bus mastering enabled by the controller
 * @msi_enabled: MSI enabled by the controller
 */
struct cdx_sim_dev {
	const struct cdx_sim_device_desc *desc;
	struct cdx_sim_region regions[MAX_CDX_DEV_RESOURCES];
	spinlock_t lock;	/* dev_configure() vs. the doorbell poll */
	u32 req_id;
	u32 resets;
	u32 fired;
	u32 dma_done;
	bool bus_master;
	bool msi_enabled;
};

struct cdx_sim {
	struct platform_device *pdev;
	struct cdx_controller cdx;
	struct cdx_sim_dev devs[CDX_SIM_NUM_DEVICES];
	struct delayed_work poll_work;
	struct irq_domain *root_domain;
	struct irq_domain *msi_domain;
	struct fwnode_handle *root_fwnode;
	struct fwnode_handle *msi_fwnode;
	bool of_mode;		/* controller on a DT node, upstream CDX MSI domain */
};

static struct cdx_sim *cdx_sim;

static inline bool cdx_sim_has_regs(const struct cdx_sim_dev *sd)
{
	return sd->desc->reg_region >= 0;
}

static inline u32 *cdx_sim_reg(struct cdx_sim_dev *sd, unsigned int off)
{
	return sd->regions[sd->desc->reg_region].va + off;
}

/* Registers are host-endian 32-bit words, as userspace sees them via mmap. */
static inline u32 cdx_sim_readl(struct cdx_sim_dev *sd, unsigned int off)
{
	return READ_ONCE(*cdx_sim_reg(sd, off));
}

static inline void cdx_sim_writel(struct cdx_sim_dev *sd, unsigned int off,
				  u32 val)
{
	WRITE_ONCE(*cdx_sim_reg(sd, off), val);
}

static struct cdx_sim_dev *cdx_sim_find(struct cdx_sim *sim, u8 bus, u8 dev)
{
	int i;

	for (i = 0; i < CDX_SIM_NUM_DEVICES; i++) {
		if (sim->devs[i].desc->bus == bus && sim->devs[i].desc->dev == dev)
			return &sim->devs[i];
	}
	return NULL;
}

/* The struct device of a simulated device, with a reference, or NULL. */
static struct device *cdx_sim_device(struct cdx_sim_dev *sd)
{
	return bus_find_device_by_name(&cdx_bus_type, NULL, sd->desc->name);
}

/* Give region @i its initial contents. */
static void cdx_sim_fill_region(struct cdx_sim_dev *sd, unsigned int i)
{
	const struct cdx_sim_region_desc *rd = &sd->desc->regions[i];
	u32 *w = sd->regions[i].va;
	u32 n;

	memset(w, 0, PAGE_SIZE << sd->regions[i].order);
	switch (rd->fill) {
	case CDX_SIM_FILL_REGISTERS:
		w[CDX_SIM_REG_ID / 4] = CDX_SIM_ID_BASE | sd->desc->dev;
		w[CDX_SIM_REG_VERSION / 4] = CDX_SIM_VERSION;
		break;
	case CDX_SIM_FILL_PATTERN:
		for (n = 0; n < rd->size / 4; n++)
			w[n] = rd->pattern | n;
		break;
	case CDX_SIM_FILL_ZERO:
		break;
	}
}

/* Device reset; called with sd->lock held. */
static void cdx_sim_reset(struct cdx_sim_dev *sd)
{
	unsigned int i;

	for (i = 0; i < sd->desc->num_regions; i++)
		cdx_sim_fill_region(sd, i);
	sd->resets++;
	sd->bus_master = false;
	sd->msi_enabled = false;
	if (cdx_sim_has_regs(sd)) {
		cdx_sim_writel(sd, CDX_SIM_REG_RESET_COUNT, sd->resets);
		cdx_sim_writel(sd, CDX_SIM_REG_BUS_MASTER, 0);
		cdx_sim_writel(sd, CDX_SIM_REG_MSI_ENABLE, 0);
	}
}

static void cdx_sim_msi_conf(struct cdx_sim_dev *sd,
			     const struct cdx_msi_config *msi)
{
	unsigned int off = CDX_SIM_REG_MSI_TABLE +
			   msi->msi_index * CDX_SIM_MSI_TABLE_STRIDE;

	cdx_sim_writel(sd, off, lower_32_bits(msi->addr));
	cdx_sim_writel(sd, off + 4, upper_32_bits(msi->addr));
	cdx_sim_writel(sd, off + 8, msi->data);
}

/*
 * Never sleeps: it is also called from the MSI chip's irq_write_msi_msg(),
 * under the irq descriptor lock.
 */
static int cdx_sim_dev_configure(struct cdx_controller *cdx, u8 bus_num,
				 u8 dev_num, struct cdx_device_config *cfg)
{
	struct cdx_sim *sim = cdx->priv;
	struct cdx_sim_dev *sd = cdx_sim_find(sim, bus_num, dev_num);
	unsigned long flags;
	int ret = 0;

	if (!sd)
		return -ENODEV;

	spin_lock_irqsave(&sd->lock, flags);
	switch (cfg->type) {
	case CDX_DEV_RESET_CONF:
		cdx_sim_reset(sd);
		break;
	case CDX_DEV_BUS_MASTER_CONF:
		sd->bus_master = cfg->bus_master_enable;
		if (cdx_sim_has_regs(sd))
			cdx_sim_writel(sd, CDX_SIM_REG_BUS_MASTER, sd->bus_master);
		if (sd->bus_master)	/* the copy engine may get work */
			mod_delayed_work(system_wq, &sim->poll_work,
					 CDX_SIM_POLL_ACTIVE);
		break;
	case CDX_DEV_MSI_ENABLE:
		sd->msi_enabled = cfg->msi_enable;
		if (cdx_sim_has_regs(sd))
			cdx_sim_writel(sd, CDX_SIM_REG_MSI_ENABLE, sd->msi_enabled);
		if (sd->msi_enabled)	/* watch the doorbell closely */
			mod_delayed_work(system_wq, &sim->poll_work,
					 CDX_SIM_POLL_ACTIVE);
		break;
	case CDX_DEV_MSI_CONF:
		if (cfg->msi.msi_index >= sd->desc->num_msi)
			ret = -EINVAL;
		else if (cdx_sim_has_regs(sd))
			cdx_sim_msi_conf(sd, &cfg->msi);
		break;
	default:
		ret = -EINVAL;
		break;
	}
	spin_unlock_irqrestore(&sd->lock, flags);

	return ret;
}

static int cdx_sim_bus_enable(struct cdx_controller *cdx, u8 bus_num)
{
	return 0;
}

static int cdx_sim_bus_disable(struct cdx_controller *cdx, u8 bus_num)
{
	return 0;
}

static int cdx_sim_scan(struct cdx_controller *cdx)
{
	struct device *bus_dev[CDX_SIM_MAX_BUSES] = { };
	struct cdx_sim *sim = cdx->priv;
	struct cdx_dev_params params;
	unsigned int i, r;
	int ret;

	for (i = 0; i < CDX_SIM_NUM_DEVICES; i++) {
		struct cdx_sim_dev *sd = &sim->devs[i];
		const struct cdx_sim_device_desc *d = sd->desc;

		if (!bus_dev[d->bus]) {
			bus_dev[d->bus] = cdx_bus_add(cdx, d->bus);
			if (!bus_dev[d->bus]) {
				dev_err(cdx->dev, "cannot add bus %u\n", d->bus);
				continue;
			}
		}

		memset(&params, 0, sizeof(params));
		params.cdx = cdx;
		params.parent = bus_dev[d->bus];
		params.vendor = d->vendor;
		params.device = d->device;
		params.subsys_vendor = d->subsys_vendor;
		params.subsys_device = d->subsys_device;
		params.bus_num = d->bus;
		params.dev_num = d->dev;
		params.class = d->class;
		params.revision = d->revision;
		params.req_id = sd->req_id;
		params.msi_dev_id = sd->req_id;
		params.num_msi = d->num_msi;
		for (r = 0; r < d->num_regions; r++) {
			phys_addr_t start = page_to_phys(sd->regions[r].pages);

			params.res[r].start = start;
			params.res[r].end = start + d->regions[r].size - 1;
			params.res[r].flags = IORESOURCE_MEM;
			if (d->regions[r].read_only)
				params.res[r].flags |= IORESOURCE_READONLY;
		}
		params.res_count = d->num_regions;

		ret = cdx_device_add(&params);
		if (ret)
			dev_err(cdx->dev, "cannot add %s: %d\n", d->name, ret);
	}

	return 0;
}

static struct cdx_ops cdx_sim_ops = {
	.bus_enable = cdx_sim_bus_enable,
	.bus_disable = cdx_sim_bus_disable,
	.scan = cdx_sim_scan,
	.dev_configure = cdx_sim_dev_configure,
};

#if CDX_SIM_MSI

/* Root irq chip: stands for the interrupt controller the MSI writes go to. */
static void cdx_sim_irq_noop(struct irq_data *d)
{
}

/* msi_domain_set_affinity() calls this without a NULL check. */
static int cdx_sim_irq_set_affinity(struct irq_data *d,
				    const struct cpumask *mask, bool force)
{
	irq_data_update_effective_affinity(d, mask);
	return IRQ_SET_MASK_OK;
}

static void cdx_sim_irq_compose_msi_msg(struct irq_data *d,
					struct msi_msg *msg)
{
	msg->address_hi = 0;
	msg->address_lo = CDX_SIM_MSI_ADDR;
	msg->data = d->hwirq;
}

static struct irq_chip cdx_sim_root_chip = {
	.name			= "cdx-sim",
	.irq_mask		= cdx_sim_irq_noop,
	.irq_unmask		= cdx_sim_irq_noop,
	.irq_set_affinity	= cdx_sim_irq_set_affinity,
	.irq_compose_msi_msg	= cdx_sim_irq_compose_msi_msg,
};

static int cdx_sim_root_alloc(struct irq_domain *domain, unsigned int virq,
			      unsigned int nr_irqs, void *arg)
{
	msi_alloc_info_t *info = arg;
	unsigned int i;

	for (i = 0; i < nr_irqs; i++)
		irq_domain_set_info(domain, virq + i, info->hwirq + i,
				    &cdx_sim_root_chip, NULL, handle_simple_irq,
				    NULL, NULL);
	return 0;
}

static const struct irq_domain_ops cdx_sim_root_ops = {
	.alloc	= cdx_sim_root_alloc,
	.free	= irq_domain_free_irqs_common,
};

/* The MSI "write" is the controller's MSI_CONF, as in upstream cdx_msi.c. */
static void cdx_sim_msi_write_msg(struct irq_data *d, struct msi_msg *msg)
{
	struct msi_desc *desc = irq_data_get_msi_desc(d);
	struct cdx_device *cdx_dev = to_cdx_device(desc->dev);
	struct cdx_device_config cfg = { .type = CDX_DEV_MSI_CONF };

	cfg.msi.addr = ((u64)msg->address_hi << 32) | msg->address_lo;
	cfg.msi.data = msg->data;
	cfg.msi.msi_index = desc->msi_index;
	cdx_sim_dev_configure(cdx_dev->cdx, cdx_dev->bus_num, cdx_dev->dev_num,
			      &cfg);
}

static struct irq_chip cdx_sim_msi_chip = {
	.name			= "cdx-sim-MSI",
	.irq_mask		= irq_chip_mask_parent,
	.irq_unmask		= irq_chip_unmask_parent,
	.irq_write_msi_msg	= cdx_sim_msi_write_msg,
	/* .irq_set_affinity = msi_domain_set_affinity, by USE_DEF_CHIP_OPS */
};

static void cdx_sim_msi_set_desc(msi_alloc_info_t *arg, struct msi_desc *desc)
{
	struct cdx_device *cdx_dev = to_cdx_device(desc->dev);

	arg->desc = desc;
	arg->hwirq = CDX_SIM_HWIRQ(cdx_dev->msi_dev_id, desc->msi_index);
}

static struct msi_domain_ops cdx_sim_msi_ops = {
	.set_desc	= cdx_sim_msi_set_desc,
};

static struct msi_domain_info cdx_sim_msi_info = {
	.flags	= MSI_FLAG_USE_DEF_DOM_OPS | MSI_FLAG_USE_DEF_CHIP_OPS |
		  MSI_FLAG_ALLOC_SIMPLE_MSI_DESCS | MSI_FLAG_FREE_MSI_DESCS,
	.ops	= &cdx_sim_msi_ops,
	.chip	= &cdx_sim_msi_chip,
};

static int cdx_sim_msi_init(struct cdx_sim *sim)
{
	if (sim->of_mode) {	/* upstream cdx_msi.c, msi-map to the ITS */
		sim->msi_domain = cdx_msi_domain_init(&sim->pdev->dev);
		return sim->msi_domain ? 0 : -ENODEV;
	}
	sim->root_fwnode = irq_domain_alloc_named_fwnode("cdx-sim");
	sim->msi_fwnode = irq_domain_alloc_named_fwnode("cdx-sim-MSI");
	if (!sim->root_fwnode || !sim->msi_fwnode)
		goto fail;

	sim->root_domain = irq_domain_create_hierarchy(NULL, 0, 0,
						       sim->root_fwnode,
						       &cdx_sim_root_ops, sim);
	if (!sim->root_domain)
		goto fail;

	sim->msi_domain = msi_create_irq_domain(sim->msi_fwnode,
						&cdx_sim_msi_info,
						sim->root_domain);
	if (!sim->msi_domain)
		goto fail;

	return 0;

fail:
	if (sim->root_domain)
		irq_domain_remove(sim->root_domain);
	sim->root_domain = NULL;
	if (sim->msi_fwnode)
		irq_domain_free_fwnode(sim->msi_fwnode);
	if (sim->root_fwnode)
		irq_domain_free_fwnode(sim->root_fwnode);
	sim->msi_fwnode = NULL;
	sim->root_fwnode = NULL;
	return -ENOMEM;
}

static void cdx_sim_msi_exit(struct cdx_sim *sim)
{
	if (sim->msi_domain)
		irq_domain_remove(sim->msi_domain);
	if (sim->root_domain)
		irq_domain_remove(sim->root_domain);
	if (sim->msi_fwnode)
		irq_domain_free_fwnode(sim->msi_fwnode);
	if (sim->root_fwnode)
		irq_domain_free_fwnode(sim->root_fwnode);
}

static bool cdx_sim_can_raise(struct cdx_sim *sim, struct cdx_sim_dev *sd,
			      u32 vector)
{
	if (sim->of_mode)	/* cdx_sim_raise() looks the interrupt up */
		return true;
	return sim->root_domain &&
	       irq_find_mapping(sim->root_domain,
				CDX_SIM_HWIRQ(sd->req_id, vector));
}

/*
 * Device-tree mode: the vector's LPI is made pending at the ITS (an INT
 * command), exactly what the device's MSI write would do; software mode: the
 * root domain's handler runs directly.
 */
static void cdx_sim_raise(struct cdx_sim *sim, struct cdx_sim_dev *sd,
			  u32 vector)
{
	struct device *dev;
	unsigned int virq;

	if (!sim->of_mode) {
		generic_handle_domain_irq_safe(sim->root_domain,
					       CDX_SIM_HWIRQ(sd->req_id, vector));
		return;
	}
	dev = cdx_sim_device(sd);
	if (!dev)
		return;
	virq = msi_get_virq(dev, vector);
	if (virq)
		irq_set_irqchip_state(virq, IRQCHIP_STATE_PENDING, true);
	put_device(dev);
}

#else /* !CDX_SIM_MSI */

static int cdx_sim_msi_init(struct cdx_sim *sim)
{
	return -EOPNOTSUPP;
}

static void cdx_sim_msi_exit(struct cdx_sim *sim)
{
}

static bool cdx_sim_can_raise(struct cdx_sim *sim, struct cdx_sim_dev *sd,
			      u32 vector)
{
	return false;
}

static void cdx_sim_raise(struct cdx_sim *sim, struct cdx_sim_dev *sd,
			  u32 vector)
{
}

#endif /* CDX_SIM_MSI */

/* One doorbell check; returns true if vector *vector must be raised. */
static bool cdx_sim_doorbell(struct cdx_sim *sim, struct cdx_sim_dev *sd,
			     u32 *vector)
{
	unsigned long flags;
	bool fire = false;
	u32 v;

	if (!cdx_sim_has_regs(sd) || !READ_ONCE(sd->msi_enabled) ||
	    !cdx_sim_readl(sd, CDX_SIM_REG_MSI_DOORBELL))
		return false;

	spin_lock_irqsave(&sd->lock, flags);
	v = cdx_sim_readl(sd, CDX_SIM_REG_MSI_DOORBELL);
	if (sd->msi_enabled && v) {
		cdx_sim_writel(sd, CDX_SIM_REG_MSI_DOORBELL, 0);
		*vector = v - 1;
		if (*vector < sd->desc->num_msi) {
			cdx_sim_writel(sd, CDX_SIM_REG_MSI_FIRED, ++sd->fired);
			fire = cdx_sim_can_raise(sim, sd, *vector);
		}
	}
	spin_unlock_irqrestore(&sd->lock, flags);

	return fire;
}

/*
 * Copies @len bytes from IOVA @src to IOVA @dst as a bus master behind the
 * device's IOMMU: each page of either side is translated through the domain
 * the device is attached to now. 0, or -EFAULT for an IOVA without
 * translation (no domain, the blocking domain, an unmapped IOVA, not RAM).
 */
static int cdx_sim_dma_copy(struct device *dev, u64 src, u64 dst, u32 len)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);

	if (!domain)
		return -EFAULT;
	while (len) {
		phys_addr_t ps = iommu_iova_to_phys(domain, src);
		phys_addr_t pd = iommu_iova_to_phys(domain, dst);
		u32 n = min_t(u32, len, PAGE_SIZE - offset_in_page(ps));
		struct page *sp, *dp;
		void *s, *d;

		if (!ps || !pd || !pfn_valid(PHYS_PFN(ps)) ||
		    !pfn_valid(PHYS_PFN(pd)))
			return -EFAULT;
		n = min_t(u32, n, PAGE_SIZE - offset_in_page(pd));
		sp = pfn_to_page(PHYS_PFN(ps));
		dp = pfn_to_page(PHYS_PFN(pd));
		/* pinned by VFIO/iommufd; a racing unmap must not free them under us */
		if (!get_page_unless_zero(sp))
			return -EFAULT;
		if (!get_page_unless_zero(dp)) {
			put_page(sp);
			return -EFAULT;
		}
		s = kmap_local_page(sp);
		d = kmap_local_page(dp);
		memcpy(d + offset_in_page(pd), s + offset_in_page(ps), n);
		kunmap_local(d);
		kunmap_local(s);
		put_page(dp);
		put_page(sp);
		src += n;
		dst += n;
		len -= n;
	}
	return 0;
}

/*
 * One copy-engine check: takes a job written to DMA_CTRL, runs it, publishes
 * DMA_STATUS and DMA_DONE, and returns true when vector *vector must then be
 * raised (IRQ requested, MSI enabled, a valid vector).
 */
static bool cdx_sim_dma(struct cdx_sim *sim, struct cdx_sim_dev *sd,
			u32 *vector)
{
	u32 ctrl, len, status, resets;
	unsigned long flags;
	struct device *dev;
	u64 src, dst;
	bool fire = false;
	int ret;

	if (!cdx_sim_has_regs(sd) ||
	    !(cdx_sim_readl(sd, CDX_SIM_REG_DMA_CTRL) & CDX_SIM_DMA_CTRL_GO))
		return false;

	spin_lock_irqsave(&sd->lock, flags);
	ctrl = xchg(cdx_sim_reg(sd, CDX_SIM_REG_DMA_CTRL), 0);
	src = ((u64)cdx_sim_readl(sd, CDX_SIM_REG_DMA_SRC_HI) << 32) |
	      cdx_sim_readl(sd, CDX_SIM_REG_DMA_SRC_LO);
	dst = ((u64)cdx_sim_readl(sd, CDX_SIM_REG_DMA_DST_HI) << 32) |
	      cdx_sim_readl(sd, CDX_SIM_REG_DMA_DST_LO);
	len = cdx_sim_readl(sd, CDX_SIM_REG_DMA_LEN);
	resets = sd->resets;
	ret = 0;
	if (!len || len > CDX_SIM_DMA_MAX_LENGTH)
		ret = -EINVAL;
	else if (!sd->bus_master)
		ret = -EPERM;
	spin_unlock_irqrestore(&sd->lock, flags);
	if (!(ctrl & CDX_SIM_DMA_CTRL_GO))
		return false;

	if (!ret) {
		dev = cdx_sim_device(sd);
		ret = dev ? cdx_sim_dma_copy(dev, src, dst, len) : -ENODEV;
		if (dev)
			put_device(dev);
	}
	status = ret ? CDX_SIM_DMA_STATUS_ERROR | -ret : CDX_SIM_DMA_STATUS_DONE;

	spin_lock_irqsave(&sd->lock, flags);
	if (sd->resets == resets) {	/* a reset meanwhile dropped the job */
		cdx_sim_writel(sd, CDX_SIM_REG_DMA_STATUS, status);
		cdx_sim_writel(sd, CDX_SIM_REG_DMA_DONE, ++sd->dma_done);
		*vector = (ctrl >> CDX_SIM_DMA_CTRL_VECTOR_SHIFT) & 0xff;
		if ((ctrl & CDX_SIM_DMA_CTRL_IRQ) && sd->msi_enabled &&
		    *vector < sd->desc->num_msi) {
			cdx_sim_writel(sd, CDX_SIM_REG_MSI_FIRED, ++sd->fired);
			fire = cdx_sim_can_raise(sim, sd, *vector);
		}
	}
	spin_unlock_irqrestore(&sd->lock, flags);

	return fire;
}

static void cdx_sim_poll(struct work_struct *work)
{
	struct cdx_sim *sim = container_of(to_delayed_work(work),
					   struct cdx_sim, poll_work);
	bool active = false;
	unsigned int i;
	u32 vector = 0;

	for (i = 0; i < CDX_SIM_NUM_DEVICES; i++) {
		struct cdx_sim_dev *sd = &sim->devs[i];

		if (cdx_sim_doorbell(sim, sd, &vector))
			cdx_sim_raise(sim, sd, vector);
		if (cdx_sim_dma(sim, sd, &vector))
			cdx_sim_raise(sim, sd, vector);
		active |= READ_ONCE(sd->msi_enabled) ||
			  READ_ONCE(sd->bus_master);
	}
	schedule_delayed_work(&sim->poll_work,
			      active ? CDX_SIM_POLL_ACTIVE : CDX_SIM_POLL_IDLE);
}

static void cdx_sim_free_regions(struct cdx_sim *sim)
{
	unsigned int i, r;

	for (i = 0; i < CDX_SIM_NUM_DEVICES; i++) {
		for (r = 0; r < MAX_CDX_DEV_RESOURCES; r++) {
			struct cdx_sim_region *reg = &sim->devs[i].regions[r];

			if (reg->pages)
				__free_pages(reg->pages, reg->order);
		}
	}
}

static int cdx_sim_alloc_regions(struct cdx_sim *sim)
{
	unsigned int i, r;

	for (i = 0; i < CDX_SIM_NUM_DEVICES; i++) {
		struct cdx_sim_dev *sd = &sim->devs[i];

		sd->desc = &cdx_sim_devices[i];
		sd->req_id = (sd->desc->bus << 8) | sd->desc->dev;
		spin_lock_init(&sd->lock);
		for (r = 0; r < sd->desc->num_regions; r++) {
			struct cdx_sim_region *reg = &sd->regions[r];

			reg->order = get_order(sd->desc->regions[r].size);
			reg->pages = alloc_pages(GFP_KERNEL | __GFP_ZERO,
						 reg->order);
			if (!reg->pages)
				return -ENOMEM;
			reg->va = page_address(reg->pages);
			cdx_sim_fill_region(sd, r);
		}
	}
	return 0;
}

/* The controller's device: the DT node's platform device, or a new one. */
static int cdx_sim_get_pdev(struct cdx_sim *sim)
{
	struct device_node *np;

	np = of_find_compatible_node(NULL, NULL, CDX_SIM_COMPATIBLE);
	if (np) {
		sim->pdev = of_find_device_by_node(np);
		of_node_put(np);
		if (!sim->pdev)
			return -ENODEV;
		sim->of_mode = true;
		return 0;
	}
	sim->pdev = platform_device_register_simple("cdx-sim",
						    PLATFORM_DEVID_NONE,
						    NULL, 0);
	if (IS_ERR(sim->pdev)) {
		int ret = PTR_ERR(sim->pdev);

		sim->pdev = NULL;
		return ret;
	}
	return 0;
}

static void cdx_sim_put_pdev(struct cdx_sim *sim)
{
	if (sim->of_mode) {
		platform_set_drvdata(sim->pdev, NULL);
		put_device(&sim->pdev->dev);
	} else {
		platform_device_unregister(sim->pdev);
	}
}

static int __init cdx_sim_init(void)
{
	struct cdx_sim *sim;
	int ret;

	sim = kzalloc(sizeof(*sim), GFP_KERNEL);
	if (!sim)
		return -ENOMEM;

	ret = cdx_sim_alloc_regions(sim);
	if (ret)
		goto err_free;

	ret = cdx_sim_get_pdev(sim);
	if (ret)
		goto err_free;

	ret = cdx_sim_msi_init(sim);
	if (ret)
		dev_warn(&sim->pdev->dev, "no MSI domain (%d): devices get no MSI\n",
			 ret);

	sim->cdx.dev = &sim->pdev->dev;
	sim->cdx.priv = sim;
	sim->cdx.ops = &cdx_sim_ops;
	sim->cdx.msi_domain = sim->msi_domain;
	INIT_DELAYED_WORK(&sim->poll_work, cdx_sim_poll);

	ret = cdx_register_controller(&sim->cdx);
	if (ret)
		goto err_msi;
	/* rescan_store() finds the controller as the DT node's drvdata */
	if (sim->of_mode)
		platform_set_drvdata(sim->pdev, &sim->cdx);
	schedule_delayed_work(&sim->poll_work, CDX_SIM_POLL_IDLE);

	cdx_sim = sim;
	dev_info(&sim->pdev->dev, "CDX controller %u: %d devices, MSI %s (%s)\n",
		 sim->cdx.id, CDX_SIM_NUM_DEVICES,
		 sim->msi_domain ? "yes" : "no",
		 sim->of_mode ? "device tree, CDX MSI domain" : "software MSI domain");
	return 0;

err_msi:
	cdx_sim_msi_exit(sim);
	cdx_sim_put_pdev(sim);
err_free:
	cdx_sim_free_regions(sim);
	kfree(sim);
	return ret;
}

static void __exit cdx_sim_exit(void)
{
	struct cdx_sim *sim = cdx_sim;

	cancel_delayed_work_sync(&sim->poll_work);
	cdx_unregister_controller(&sim->cdx);
	cdx_sim_msi_exit(sim);
	cdx_sim_put_pdev(sim);
	cdx_sim_free_regions(sim);
	kfree(sim);
	cdx_sim = NULL;
}

module_init(cdx_sim_init);
module_exit(cdx_sim_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Simulated CDX bus controller for testing");
MODULE_IMPORT_NS(CDX_BUS_CONTROLLER);
