// SPDX-License-Identifier: GPL-2.0

#include <linux/mm.h>
#include <linux/vmalloc.h>

void rust_helper_get_page(struct page *page)
{
	get_page(page);
}

void rust_helper_put_page(struct page *page)
{
	put_page(page);
}

void rust_helper_vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vm_flags_set(vma, flags);
}

void rust_helper_vm_flags_clear(struct vm_area_struct *vma, vm_flags_t flags)
{
	vm_flags_clear(vma, flags);
}

/* PAGE_KERNEL is a macro whose expansion bindgen cannot evaluate. */
pgprot_t rust_helper_pgprot_kernel(void)
{
	return PAGE_KERNEL;
}

/* kernel::miscdevice needs no helpers: misc_register/misc_deregister are functions. */
