//! placeholder
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod auth;
pub mod config_check;
pub mod passwd;
pub mod registrar;
pub mod reply;
pub mod routes;
pub mod core;
pub mod setup;
