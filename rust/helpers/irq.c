// SPDX-License-Identifier: GPL-2.0

#include <linux/interrupt.h>

int rust_helper_request_irq(unsigned int irq, irq_handler_t handler, unsigned long flags,
			    const char *name, void *dev)
{
	return request_irq(irq, handler, flags, name, dev);
}

unsigned long rust_helper_spin_lock_irqsave(spinlock_t *lock)
{
	unsigned long flags;

	spin_lock_irqsave(lock, flags);
	return flags;
}

void rust_helper_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags)
{
	spin_unlock_irqrestore(lock, flags);
}
