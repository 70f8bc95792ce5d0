//! The service's benchmarks (`make bench`): cold start and memory of every function under a
//! Lambda Runtime API of our own, round trips and own time of every route, sweep scaling, and a
//! load run through the local gateway, and events' latency through the stream relay. See
//! BENCHMARKS.md.

pub mod cold;
pub mod environment;
pub mod load;
pub mod meter;
pub mod relay;
pub mod results;
pub mod runtime_api;
pub mod stack;
pub mod stats;
pub mod sweep;
pub mod workload;
