// SPDX-License-Identifier: GPL-2.0-only

//! When a dma-buf attachment is mapped, pinned and cached, as `dma-buf.c`.
//!
//! C: `dma_buf_dynamic_attach()`, `dma_buf_detach()`, `__map_dma_buf()`,
//! `dma_buf_map_attachment()` and `dma_buf_unmap_attachment()` in
//! [`drivers/dma-buf/dma-buf.c`](srctree/drivers/dma-buf/dma-buf.c);
//! `dma_buf_is_dynamic()` and `dma_buf_attachment_is_dynamic()` in
//! [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h).
//!
//! Both sides of an attachment are either *static* or *dynamic*:
//!
//! - an exporter is dynamic when its ops have `pin` (and so `unpin`): it may
//!   move the buffer while nothing pins it, and is called for map and unmap
//!   with the reservation lock held;
//! - an importer is dynamic when it attached with importer ops (which carry
//!   `move_notify`): it maps and unmaps under the reservation lock and rebuilds
//!   its mappings when told the buffer moves.
//!
//! The rules that follow from that, kept here:
//!
//! - when the two sides differ, the attachment is mapped once at attach time,
//!   bidirectionally, and that mapping is cached until detach; a dynamic
//!   exporter is pinned for it first (its static importer cannot follow
//!   moves) and unpinned at detach, after the cached mapping is unmapped;
//! - every new mapping for a static importer is followed by a wait for the
//!   buffer's kernel fences (`DMA_RESV_USAGE_KERNEL`, e.g. a move the exporter
//!   started), because a static importer does not look at the reservation
//!   object itself; a dynamic importer must wait on its own;
//! - a cached mapping answers every later map call whose direction is its own,
//!   or any direction if it is bidirectional; another direction is `EBUSY`;
//! - without a cached mapping, a dynamic exporter is pinned for each mapping,
//!   and unpinned when the mapping fails or is unmapped, unless
//!   CONFIG_DMABUF_MOVE_NOTIFY is set (then its dynamic importers are trusted
//!   to handle moves);
//! - an exporter with `cache_sgt_mapping` gets its first successful mapping
//!   kept in the attachment; unmapping that mapping does nothing, detach
//!   releases it.
//!
//! Subtle points of the C, kept here: the cache check comes before any pin,
//! so a cached answer or `EBUSY` never pins; a failed pin is returned as it
//! is, before the exporter's map is called; the mapping made at attach is
//! cached whatever `cache_sgt_mapping` says; `dma_buf_export()` refuses
//! `cache_sgt_mapping` together with `pin`, so the two caches never meet.

use super::errno::{Errno, EBUSY};

/// `DMA_BIDIRECTIONAL` of `enum dma_data_direction`.
pub const DMA_BIDIRECTIONAL: u32 = 0;
/// `DMA_TO_DEVICE` of `enum dma_data_direction`.
pub const DMA_TO_DEVICE: u32 = 1;
/// `DMA_FROM_DEVICE` of `enum dma_data_direction`.
pub const DMA_FROM_DEVICE: u32 = 2;
/// `DMA_NONE` of `enum dma_data_direction`.
pub const DMA_NONE: u32 = 3;

/// The direction of the mapping made and cached at attach time.
pub const ATTACH_DIRECTION: u32 = DMA_BIDIRECTIONAL;

/// Whether each side of an attachment is dynamic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sides {
    /// The importer attached with importer ops (`dma_buf_attachment_is_dynamic()`).
    pub importer_dynamic: bool,
    /// The exporter has a `pin` op (`dma_buf_is_dynamic()`).
    pub exporter_dynamic: bool,
}

impl Sides {
    /// Returns whether attach maps the buffer and caches the mapping, which
    /// it does when one side is static and the other dynamic.
    pub const fn maps_at_attach(self) -> bool {
        self.importer_dynamic != self.exporter_dynamic
    }

    /// Returns whether attach pins the buffer before it maps it (a dynamic
    /// exporter with a static importer); detach then unpins.
    pub const fn pins_at_attach(self) -> bool {
        self.maps_at_attach() && self.exporter_dynamic
    }

    /// Returns whether a new mapping is followed by a wait for the kernel
    /// fences of the buffer: for static importers only.
    pub const fn waits_after_map(self) -> bool {
        !self.importer_dynamic
    }
}

/// A map call that must make a new mapping, and what comes with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewMapping {
    /// Pin before mapping, and unpin again if the mapping fails.
    pub pin: bool,
    /// Keep a successful mapping in the attachment, with its direction.
    pub cache: bool,
}

/// What `dma_buf_map_attachment()` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapPlan {
    /// Return the cached mapping.
    Cached,
    /// Ask the exporter for a new mapping.
    New(NewMapping),
}

/// Decides a map call for `direction`.
///
/// `cached` is the direction of the attachment's cached mapping, if it has
/// one; `exporter_dynamic` is [`Sides::exporter_dynamic`]; `move_notify` is
/// whether CONFIG_DMABUF_MOVE_NOTIFY is set; `cache_sgt_mapping` is the
/// exporter's flag. Returns [`EBUSY`] when a cached mapping has another
/// direction and is not bidirectional.
///
/// # Examples
///
/// ```
/// use dmabuf_rs_logic::attach::{map_plan, MapPlan, NewMapping};
/// use dmabuf_rs_logic::attach::{DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE};
/// use dmabuf_rs_logic::errno::EBUSY;
///
/// assert_eq!(map_plan(Some(DMA_BIDIRECTIONAL), DMA_TO_DEVICE, false, false, false),
///            Ok(MapPlan::Cached));
/// assert_eq!(map_plan(Some(DMA_FROM_DEVICE), DMA_TO_DEVICE, false, false, true),
///            Err(EBUSY));
/// assert_eq!(map_plan(None, DMA_TO_DEVICE, true, false, false),
///            Ok(MapPlan::New(NewMapping { pin: true, cache: false })));
/// ```
pub const fn map_plan(
    cached: Option<u32>,
    direction: u32,
    exporter_dynamic: bool,
    move_notify: bool,
    cache_sgt_mapping: bool,
) -> Result<MapPlan, Errno> {
    if let Some(cached) = cached {
        return match reuse_cached(cached, direction) {
            Ok(()) => Ok(MapPlan::Cached),
            Err(err) => Err(err),
        };
    }
    Ok(MapPlan::New(new_mapping(
        exporter_dynamic,
        move_notify,
        cache_sgt_mapping,
    )))
}

/// The half of [`map_plan`] for an attachment with a cached mapping of
/// direction `cached`: whether a map call for `direction` may return it.
///
/// The kernel code calls the two halves itself, having looked at the cached
/// mapping: [`map_plan`]'s one answer for both made LLVM encode it in a
/// register and decode it again, on every map call.
pub const fn reuse_cached(cached: u32, direction: u32) -> Result<(), Errno> {
    if cached != direction && cached != DMA_BIDIRECTIONAL {
        return Err(EBUSY);
    }
    Ok(())
}

/// The half of [`map_plan`] for an attachment without a cached mapping:
/// what comes with the new mapping.
pub const fn new_mapping(
    exporter_dynamic: bool,
    move_notify: bool,
    cache_sgt_mapping: bool,
) -> NewMapping {
    NewMapping {
        pin: pins_per_mapping(exporter_dynamic, move_notify),
        cache: cache_sgt_mapping,
    }
}

/// What `dma_buf_unmap_attachment()` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnmapPlan {
    /// The mapping is the cached one: leave it for detach.
    Keep,
    /// Give the mapping back to the exporter, then unpin if `unpin`.
    Unmap {
        /// Drop the pin the map call took.
        unpin: bool,
    },
}

/// Decides an unmap call: `is_cached` says whether the mapping is the
/// attachment's cached one; the other arguments are as for [`map_plan`].
pub const fn unmap_plan(is_cached: bool, exporter_dynamic: bool, move_notify: bool) -> UnmapPlan {
    if is_cached {
        return UnmapPlan::Keep;
    }
    UnmapPlan::Unmap {
        unpin: pins_per_mapping(exporter_dynamic, move_notify),
    }
}

/// Returns whether detach unpins after unmapping a cached mapping: when the
/// exporter is dynamic (the pin of [`Sides::pins_at_attach`]).
pub const fn detach_unpins(exporter_dynamic: bool) -> bool {
    exporter_dynamic
}

/// Whether a mapping that is not cached pins a dynamic exporter for its life.
const fn pins_per_mapping(exporter_dynamic: bool, move_notify: bool) -> bool {
    exporter_dynamic && !move_notify
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const DIRECTIONS: [u32; 5] = [
        DMA_BIDIRECTIONAL,
        DMA_TO_DEVICE,
        DMA_FROM_DEVICE,
        DMA_NONE,
        7,
    ];
    const BOOLS: [bool; 2] = [false, true];

    #[test]
    fn direction_values_are_the_kernel_ones() {
        // include/linux/dma-direction.h
        assert_eq!(
            [DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_NONE],
            [0, 1, 2, 3]
        );
    }

    #[test]
    fn sides_table() {
        // (importer dynamic, exporter dynamic) -> (map at attach, pin at attach, wait)
        let table = [
            ((false, false), (false, false, true)),
            ((false, true), (true, true, true)),
            ((true, false), (true, false, false)),
            ((true, true), (false, false, false)),
        ];
        for ((importer_dynamic, exporter_dynamic), expected) in table {
            let sides = Sides {
                importer_dynamic,
                exporter_dynamic,
            };
            assert_eq!(
                (
                    sides.maps_at_attach(),
                    sides.pins_at_attach(),
                    sides.waits_after_map()
                ),
                expected,
                "{sides:?}"
            );
        }
    }

    #[test]
    fn map_matrix() {
        for cached in [None, Some(DMA_BIDIRECTIONAL), Some(DMA_TO_DEVICE), Some(7)] {
            for &direction in &DIRECTIONS {
                for exporter_dynamic in BOOLS {
                    for move_notify in BOOLS {
                        for cache in BOOLS {
                            let expected = match cached {
                                Some(d) if d == direction || d == DMA_BIDIRECTIONAL => {
                                    Ok(MapPlan::Cached)
                                }
                                Some(_) => Err(EBUSY),
                                None => Ok(MapPlan::New(NewMapping {
                                    pin: exporter_dynamic && !move_notify,
                                    cache,
                                })),
                            };
                            assert_eq!(
                                map_plan(cached, direction, exporter_dynamic, move_notify, cache),
                                expected
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn unmap_matrix() {
        for exporter_dynamic in BOOLS {
            for move_notify in BOOLS {
                assert_eq!(
                    unmap_plan(true, exporter_dynamic, move_notify),
                    UnmapPlan::Keep
                );
                assert_eq!(
                    unmap_plan(false, exporter_dynamic, move_notify),
                    UnmapPlan::Unmap {
                        unpin: exporter_dynamic && !move_notify
                    }
                );
            }
        }
    }

    /// One call of an importer in the model below.
    #[derive(Clone, Copy, Debug)]
    enum Op {
        /// Map with this direction; the exporter's map fails if `fails`.
        Map { direction: u32, fails: bool },
        /// Unmap the oldest mapping the importer holds.
        Unmap,
    }

    /// The exporter's and the attachment's state, as the rules drive them.
    #[derive(Debug, Default)]
    struct Model {
        /// Outstanding pins of the exporter.
        pins: u32,
        /// Mappings the exporter has handed out and not got back.
        mapped: Vec<u32>,
        /// The cached mapping: (id, direction).
        cached: Option<(u32, u32)>,
        next_id: u32,
    }

    impl Model {
        fn exporter_map(&mut self) -> u32 {
            self.next_id += 1;
            self.mapped.push(self.next_id);
            self.next_id
        }

        fn exporter_unmap(&mut self, id: u32) {
            let at = self
                .mapped
                .iter()
                .position(|&m| m == id)
                .expect("unknown mapping");
            self.mapped.remove(at);
        }
    }

    /// Runs attach, `ops`, unmapping what the importer still holds, and
    /// detach, checking after each step that a mapping of a dynamic exporter
    /// is pinned unless a dynamic importer is trusted with moves; and at the
    /// end that every pin and mapping was given back.
    fn run(sides: Sides, move_notify: bool, cache_sgt_mapping: bool, ops: &[Op]) {
        let mut m = Model::default();
        let mut held: Vec<u32> = Vec::new();
        let trusted = sides.importer_dynamic && move_notify;
        let check = |m: &Model| {
            if sides.exporter_dynamic && !trusted && !m.mapped.is_empty() {
                assert!(m.pins > 0, "unpinned mapping: {sides:?} {ops:?} {m:?}");
            }
        };

        if sides.maps_at_attach() {
            if sides.pins_at_attach() {
                m.pins += 1;
            }
            let id = m.exporter_map();
            m.cached = Some((id, ATTACH_DIRECTION));
        }
        check(&m);

        let mut queue: Vec<Op> = ops.to_vec();
        queue.extend(core::iter::repeat_n(Op::Unmap, ops.len()));
        for op in queue {
            match op {
                Op::Map { direction, fails } => {
                    let cached = m.cached.map(|(_, d)| d);
                    match map_plan(
                        cached,
                        direction,
                        sides.exporter_dynamic,
                        move_notify,
                        cache_sgt_mapping,
                    ) {
                        Err(_) => {}
                        Ok(MapPlan::Cached) => held.push(m.cached.unwrap().0),
                        Ok(MapPlan::New(plan)) => {
                            if plan.pin {
                                m.pins += 1;
                            }
                            if fails {
                                if plan.pin {
                                    m.pins -= 1;
                                }
                            } else {
                                let id = m.exporter_map();
                                if plan.cache {
                                    m.cached = Some((id, direction));
                                }
                                held.push(id);
                            }
                        }
                    }
                }
                Op::Unmap => {
                    if held.is_empty() {
                        continue;
                    }
                    let id = held.remove(0);
                    let is_cached = m.cached.map(|(c, _)| c) == Some(id);
                    match unmap_plan(is_cached, sides.exporter_dynamic, move_notify) {
                        UnmapPlan::Keep => {}
                        UnmapPlan::Unmap { unpin } => {
                            m.exporter_unmap(id);
                            if unpin {
                                m.pins -= 1;
                            }
                        }
                    }
                }
            }
            check(&m);
        }

        if let Some((id, _)) = m.cached.take() {
            m.exporter_unmap(id);
            if detach_unpins(sides.exporter_dynamic) {
                m.pins -= 1;
            }
        }
        assert_eq!(m.pins, 0, "pins leaked: {sides:?} {ops:?}");
        assert!(m.mapped.is_empty(), "mappings leaked: {sides:?} {ops:?}");
    }

    /// Every sequence of up to four map calls (with unmaps in between) on
    /// every combination that `dma_buf_export()` accepts keeps pins and
    /// mappings balanced.
    #[test]
    fn pins_and_mappings_balance() {
        let mut alphabet = Vec::new();
        for direction in [DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE] {
            for fails in BOOLS {
                alphabet.push(Op::Map { direction, fails });
            }
        }
        alphabet.push(Op::Unmap);

        let mut sequences: Vec<Vec<Op>> = std::vec![Vec::new()];
        for _ in 0..4 {
            let longer: Vec<Vec<Op>> = sequences
                .iter()
                .filter(|s| s.len() == sequences.last().unwrap().len())
                .flat_map(|s| {
                    alphabet.iter().map(move |&op| {
                        let mut s = s.clone();
                        s.push(op);
                        s
                    })
                })
                .collect();
            sequences.extend(longer);
        }

        for importer_dynamic in BOOLS {
            for exporter_dynamic in BOOLS {
                for move_notify in BOOLS {
                    for cache_sgt_mapping in BOOLS {
                        // dma_buf_export() refuses cache_sgt_mapping with pin.
                        if exporter_dynamic && cache_sgt_mapping {
                            continue;
                        }
                        let sides = Sides {
                            importer_dynamic,
                            exporter_dynamic,
                        };
                        for ops in &sequences {
                            run(sides, move_notify, cache_sgt_mapping, ops);
                        }
                    }
                }
            }
        }
    }
}
