//! The clock every function reads. In Lambda it is the system's; locally it can be stopped.

use chrono::{DateTime, SubsecRound, Utc};
use std::sync::{Arc, RwLock};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    /// Milliseconds, the precision every stored timestamp keeps.
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(3)
    }
}

/// A clock that can be stopped at an instant and restarted, shared by every local function.
#[derive(Clone, Default)]
pub struct SettableClock {
    frozen: Arc<RwLock<Option<DateTime<Utc>>>>,
}

impl SettableClock {
    pub fn set(&self, at: Option<DateTime<Utc>>) {
        // A poisoned lock only means a writer panicked mid-assignment of a Copy value: still usable.
        *self.frozen.write().unwrap_or_else(|e| e.into_inner()) = at;
    }
}

impl Clock for SettableClock {
    fn now(&self) -> DateTime<Utc> {
        self.frozen.read().unwrap_or_else(|e| e.into_inner()).unwrap_or_else(|| SystemClock.now())
    }
}

pub type SharedClock = Arc<dyn Clock>;
