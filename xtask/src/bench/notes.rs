//! What a job measures, printed above its chart where the table alone would mislead (the
//! benchmark files say it in full).

/// The note for criterion group `group`, if it has one.
pub(crate) fn note(group: &str) -> Option<&'static str> {
    match group {
        "scaling heaps" => Some(
            "Cost per operation (a free or an allocation) while each heap holds a constant \
             number of live allocations: requests of 16–256 B (log-uniform), alignment 8, in \
             pre-faulted memory of twice the peak live bytes (about 100 MiB live at 1M); each \
             step frees a random live allocation and allocates a new size in its slot. An \
             O(1) heap's line stays flat while its blocks fit in the caches; beyond that every \
             step touches a random cold block, so the rise is cache and TLB misses, not extra \
             work. linked_list_allocator runs up to 16k live and buddy_system_allocator up to \
             64k: their cost grows with the live count, and larger points would take minutes \
             each. A quick run measures 1k, 16k and 1M only.",
        ),
        "scaling vmem" => Some(
            "Cost per operation (a free or an allocation) while each arena holds a constant \
             number of live segments of 1–64 quanta (log-uniform); kalloc-vmem uses instant \
             fit and no quantum caches. The `vmem` crate runs up to 16k live only: its cost \
             grows with the live count (the `vmem_churn` group has it at 256k, where it counts \
             a free and an allocation together as one operation). Its free space also \
             fragments until a request fails although the arena is never more than half \
             full; it is then rebuilt and refilled with the clock stopped (the benchmark \
             prints how often). A quick run measures 1k, 16k and 1M only.",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_groups_have_notes() {
        assert!(note("scaling heaps").is_some_and(|n| n.contains("16–256 B")));
        assert!(note("scaling vmem").is_some());
        assert_eq!(note("tlsf alloc-free"), None);
    }
}
