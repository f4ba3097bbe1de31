//! The daemon's HTTP listeners, each bound once at start: WebSub hubs push
//! to one (`[websub] listen`), monitoring reads the other (`[metrics]
//! listen`).

pub(crate) mod monitor;
pub(crate) mod websub;
