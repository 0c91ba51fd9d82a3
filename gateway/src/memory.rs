//! Giving memory that bulk work freed back to the operating system.
//!
//! glibc keeps what a thread frees in that thread's arena for reuse and returns
//! only the top of a heap. A segmentation run or a catalogue refresh allocates
//! and frees tens of MiB of rows in a few seconds, spread over the runtime's
//! threads, and the freed pages stayed resident: measured on 100,000 customers,
//! anonymous memory went 20 → 68 MiB over eight runs with 12 MiB in use, and
//! back to 21 MiB after one trim.

use std::time::Instant;

/// Held by bulk work: however it ends (done, failed or cancelled), dropping the
/// guard returns the allocator's free pages to the operating system.
#[must_use = "the memory is released when the guard is dropped"]
pub struct ReleaseWhenDone;

impl Drop for ReleaseWhenDone {
    fn drop(&mut self) {
        // A trim walks every arena: on a blocking thread when there is a runtime.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(timed_trim)),
            Err(_) => timed_trim(),
        }
    }
}

fn timed_trim() {
    let started = Instant::now();
    trim();
    tracing::debug!(elapsed = ?started.elapsed(), "returned freed memory to the system");
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim() {
    // SAFETY: `malloc_trim` takes no pointers; it only walks and releases the
    // allocator's own free lists, under the allocator's locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
