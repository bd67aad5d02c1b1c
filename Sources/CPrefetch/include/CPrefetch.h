#ifndef CPREFETCH_H
#define CPREFETCH_H

/// A hint that `address` will be read soon: the cache line is fetched while the CPU goes on.
/// Never faults, whatever the address. Swift has no spelling for it, so the spatial index's
/// look-ahead (InspectionCore's `SiteIndex.prefetch`) calls this.
static inline __attribute__((always_inline)) void iw_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
