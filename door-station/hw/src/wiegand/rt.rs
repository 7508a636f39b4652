//! Making the sending thread real-time (Linux): `SCHED_FIFO` and 1 ns timer
//! slack. The one place in this crate that calls C.
//!
//! Memory is not locked here: `mlockall(MCL_FUTURE)` would apply to the whole
//! daemon (video buffers included) and make allocations fail past
//! `RLIMIT_MEMLOCK`. The thread touches little memory while it sends, and a
//! page fault mid-pulse is caught by the width check like any other delay.

#![allow(unsafe_code)]

/// What the sending thread got from the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Realtime {
    /// `SCHED_FIFO` at this priority.
    Fifo(i32),
    /// Refused (no root or `CAP_SYS_NICE`): the thread runs `SCHED_OTHER` and its
    /// pulses are more often pre-empted (the self-check then resends).
    Refused {
        /// The `errno` of `sched_setscheduler`.
        errno: i32,
    },
}

/// Asks for `SCHED_FIFO` at the highest priority for the calling thread and
/// sets its timer slack to 1 ns (best effort).
pub fn make_current_thread_realtime() -> Realtime {
    // SAFETY: plain syscalls on the calling thread with valid arguments; the
    // `sched_param` lives on the stack for the duration of the call.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
        let priority = libc::sched_get_priority_max(libc::SCHED_FIFO);
        let param = libc::sched_param { sched_priority: priority };
        if libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) == 0 {
            Realtime::Fifo(priority)
        } else {
            Realtime::Refused { errno: std::io::Error::last_os_error().raw_os_error().unwrap_or(0) }
        }
    }
}
