//! door-station
