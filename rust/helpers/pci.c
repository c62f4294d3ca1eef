// SPDX-License-Identifier: GPL-2.0

#include <linux/pci.h>

void *rust_helper_pci_get_drvdata(struct pci_dev *pdev)
{
	return pci_get_drvdata(pdev);
}

void rust_helper_pci_set_drvdata(struct pci_dev *pdev, void *data)
{
	pci_set_drvdata(pdev, data);
}

resource_size_t rust_helper_pci_resource_len(struct pci_dev *pdev, int bar)
{
	return pci_resource_len(pdev, bar);
}

unsigned long rust_helper_pci_resource_flags(struct pci_dev *pdev, int bar)
{
	return pci_resource_flags(pdev, bar);
}

/* Static inlines without CONFIG_PCI_MSI; the real functions win when they exist. */
int rust_helper_pci_alloc_irq_vectors(struct pci_dev *dev, unsigned int min_vecs,
				      unsigned int max_vecs, unsigned int flags)
{
	return pci_alloc_irq_vectors(dev, min_vecs, max_vecs, flags);
}

void rust_helper_pci_free_irq_vectors(struct pci_dev *dev)
{
	pci_free_irq_vectors(dev);
}

int rust_helper_pci_irq_vector(struct pci_dev *dev, unsigned int nr)
{
	return pci_irq_vector(dev, nr);
}
