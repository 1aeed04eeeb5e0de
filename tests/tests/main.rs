//! The end-to-end tests, one binary: each file is a suite (`cargo nextest run -E 'test(/^chat::/)'`
//! runs one). A new suite is a file here and a line below.

mod abuse;
mod access;
mod accounts;
mod adding_a_module;
mod attendance;
mod cancellation;
mod ceasing;
mod chat;
mod contract;
mod conventions;
mod cooperation;
mod demo;
mod faults;
mod files;
mod fuzz;
mod http;
mod incidents;
mod jobs;
mod logging;
mod matrix;
mod node;
mod notifications;
mod organizations;
mod partners;
mod privacy;
mod providers;
mod reports;
mod requests;
mod retention;
mod storage;
mod transport;
mod verification;
mod webhooks;
mod websocket;
