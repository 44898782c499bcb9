//! tokend's domain: access tokens, learning areas, accounts, expiry rules, secrets. No I/O.
#![doc = include_str!("../README.md")]

pub mod audit;
pub mod clock;
pub mod error;
pub mod ids;
pub mod learning;
pub mod learning_service;
pub mod memory;
pub mod model;
pub mod secret;
pub mod service;
pub mod store;

pub use error::{CommitOnError, CoreError, StoreError};

#[cfg(test)]
mod rules_tests;
