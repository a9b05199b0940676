//! The counters in memory any process can map: one `#[repr(C)]` block of atomics
//! ([`Counters`]), private to a process or in a `memfd` that app_sync's prefork
//! workers share.

use std::io;
use std::os::fd::RawFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use super::{BUCKETS, DEPENDENCIES, MAX_SLOTS};

/// Status codes counted one by one (`0..STATUS_CODES`); anything above is counted as 599.
pub(super) const STATUS_CODES: usize = 600;

/// One worker's gauges.
#[repr(C)]
pub(super) struct Slot {
    pub(super) in_flight: AtomicI64,
    /// Per [`Dependency`].
    pub(super) calls_in_flight: [AtomicI64; DEPENDENCIES],
}

/// A duration histogram: not cumulative, `buckets[i]` counts durations in
/// `(BUCKETS[i-1], BUCKETS[i]]`, the last one those over 60 s.
#[repr(C)]
pub(super) struct Histogram {
    pub(super) buckets: [AtomicU64; BUCKETS.len() + 1],
    pub(super) sum_nanos: AtomicU64,
}

impl Histogram {
    pub(super) fn record(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// `(upper bound, count)` per bucket (the last bound +Inf), and the sum in seconds.
    pub(super) fn read(&self) -> (Vec<(f64, u64)>, f64) {
        let buckets = BUCKETS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(&self.buckets)
            .map(|(bound, count)| (bound, count.load(Ordering::Relaxed)))
            .collect();
        let sum = Duration::from_nanos(self.sum_nanos.load(Ordering::Relaxed)).as_secs_f64();
        (buckets, sum)
    }
}

/// Every number, as laid out in the mapped memory. All zeroes is the valid start.
#[repr(C)]
pub(super) struct Counters {
    pub(super) by_status: [AtomicU64; STATUS_CODES],
    pub(super) requests: Histogram,
    /// Per [`Dependency`].
    pub(super) calls: [Histogram; DEPENDENCIES],
    pub(super) slots: [Slot; MAX_SLOTS],
}

pub(super) const REGION_LEN: usize = std::mem::size_of::<Counters>();

/// The mapping that holds the [`Counters`]; unmapped when the last handle goes.
pub(super) struct Region {
    pub(super) counters: NonNull<Counters>,
}

// SAFETY: the region is only ever accessed through atomics.
unsafe impl Send for Region {}
// SAFETY: as above.
unsafe impl Sync for Region {}

impl Region {
    /// Maps `REGION_LEN` bytes: of `fd` (shared with whoever else maps it), or fresh
    /// anonymous zeroed memory.
    pub(super) fn map(fd: Option<RawFd>) -> io::Result<Region> {
        let (flags, fd) = match fd {
            Some(fd) => (libc::MAP_SHARED, fd),
            None => (libc::MAP_SHARED | libc::MAP_ANONYMOUS, -1),
        };
        // SAFETY: a new mapping at an address the kernel picks; nothing else is touched.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                REGION_LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd,
                0,
            )
        };
        if address == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // mmap returns page-aligned memory, zero-filled (anonymous, or a memfd that was
        // only ftruncate'd), and all-zero atomics are valid.
        let counters = NonNull::new(address.cast::<Counters>())
            .ok_or_else(|| io::Error::other("mmap returned a null address"))?;
        Ok(Region { counters })
    }

    pub(super) fn counters(&self) -> &Counters {
        // SAFETY: the mapping lives as long as `self` and is only accessed atomically.
        unsafe { self.counters.as_ref() }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: unmapping what `map` mapped, once no handle can reach it.
        unsafe { libc::munmap(self.counters.as_ptr().cast(), REGION_LEN) };
    }
}
