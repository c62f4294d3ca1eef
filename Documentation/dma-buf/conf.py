# SPDX-License-Identifier: GPL-2.0-only
#
# Sphinx configuration of the dmabuf-rs guide. This directory builds on its
# own (make docs); the kernel's kernel-doc extension is not used.

project = "dmabuf-rs"
root_doc = "index"
highlight_language = "none"

# Every :c:func: and :c:type: must name something declared in api.rst, so a
# misspelt name fails the build (-W) instead of rendering as plain text.
nitpicky = True

# Kernel types that appear in the prototypes of api.rst but belong to other
# subsystems: they have no page here.
nitpick_ignore = [
    ("c:identifier", name)
    for name in (
        "u64", "uint32_t", "uint64_t", "ktime_t", "spinlock_t", "kref",
        "device", "sg_table", "dma_data_direction", "vm_area_struct",
        "iosys_map", "seq_file", "ww_class", "module", "size_t",
    )
]
