//! Parsing is the one place untrusted bytes meet third-party code (feed-rs,
//! quick-xml, html5gum). A panic there must cost one feed one poll, never the
//! process or the other feeds, so it is caught here and becomes that feed's
//! parse error. Panics caught here are not printed by the panic hook either
//! (the feed's error says it, once per change, in the log's own format).

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static CATCHING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `parse`, turning a panic into its message.
pub(super) fn catch<T>(parse: impl FnOnce() -> T) -> Result<T, String> {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !CATCHING.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = CATCHING.with(|c| c.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(parse));
    CATCHING.with(|c| c.set(was));
    result.map_err(|payload| message(payload.as_ref()))
}

/// The message a panic carried, if it was a string.
pub(crate) fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message_and_the_thread_goes_on() {
        let caught: Result<(), String> = catch(|| panic!("deep inside a dependency"));
        assert_eq!(caught.unwrap_err(), "deep inside a dependency");
        assert_eq!(catch(|| 42), Ok(42));
        assert!(!CATCHING.with(Cell::get));
    }
}
