//! `intercom-proxy`: the house SIP proxy: registrar (RFC 3261 §10), digest
//! authentication (MD5, SHA-256), Flexisip-compatible users and static
//! routes, and a stateful forking proxy (RFC 3261 §16). It builds without
//! the media crates, so it runs on the door unit, an indoor panel or a small
//! server.
//!
//! Layout, bottom up:
//! - [`config`] and [`config_check`]: `proxy.toml`, checked with located errors.
//! - [`passwd`] and [`routes`]: the Flexisip-compatible user and static-record files.
//! - [`registrar`]: sans-IO bindings per AOR, and [`registrar::store`], their file.
//! - [`auth`]: challenges and verification on ds-sip's `DigestServer`, lockout.
//! - [`core`]: the sans-IO proxy on ds-sip's `TransactionLayer`.
//! - [`relay`]: the early-media relay's plan (ports, SDP rewriting, where each
//!   packet goes); the daemon's relay task moves the packets.
//! - [`setup`]: from files to a ready core (shared by the daemon and `--check-config`).
//!
//! The daemon (`src/main.rs`, `src/shell/`) owns the sockets and the clock.
//!
//! # The driving loop
//! ```text
//! let mut proxy = core::Proxy::new(settings, parts, Instant::now(), epoch_seconds, seed);
//! loop {
//!     match next event {
//!         datagram(from, bytes) => proxy.handle_datagram(now, from, &bytes),
//!         tcp message(from, intake) => proxy.handle_intake(now, from, intake),
//!         deadline passed => proxy.handle_timeout(now),
//!         SIGHUP => proxy.reload(passwd, routes),
//!     }
//!     while let Some(t) = proxy.poll_output() { send t.bytes to t.dest }
//!     if proxy.take_bindings_changed() { registrar::store::save(path, &proxy.bindings()) }
//!     for change in proxy.take_relay_changes() { relay_task.send(change) }
//!     sleep until proxy.next_timeout() or the next datagram
//! }
//! ```
//! The core never reads a clock, never sleeps, never opens a socket and draws
//! no random numbers: the shell passes `now`, the wall-clock seconds at
//! start (for nonces and binding expiry), the digest secret and a seed.
//!
//! # What it does not do (yet)
//! No client certificates, no DNS inside the core
//! (foreign hosts go to the upstream proxy, resolved by the shell at start),
//! no registration towards the upstream proxy, no RFC 5626 outbound/GRUU, no
//! relay inactivity timeout (a relayed call ends on BYE, CANCEL or failure).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod config;
pub mod config_check;
pub mod core;
pub mod passwd;
pub mod registrar;
pub mod relay;
pub mod reply;
pub mod routes;
pub mod setup;
