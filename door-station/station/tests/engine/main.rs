//! Behaviour of the station engine on a fake clock: registration, the bell
//! call with forked early media, calls to the station, DTMF and unlock.

mod harness;

mod bell;
mod door;
mod incoming;
mod level;
mod register;
mod reinvite;
mod sim;
mod torture;
