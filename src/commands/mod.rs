//! What runs beside the daemon: the commands that read and tend its state,
//! the feed list (`newswatch feeds`) and the store (`newswatch db`, and the
//! daemon's hourly pruning); and the fuzz targets' entry points.

pub(crate) mod feed_list;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub(crate) mod store_admin;
