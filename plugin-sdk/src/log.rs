//! Log lines for the host, which keeps the first few of each call.
//!
//! Natively (in `cargo test`) lines go to stderr, because the host import does
//! not exist there.

use crate::bindings::segmenter::retain::strategy::log::Level;

/// Logs a debugging detail.
pub fn debug(message: &str) {
    write(Level::Debug, message);
}

/// Logs something worth knowing, e.g. a fallback taken.
pub fn info(message: &str) {
    write(Level::Info, message);
}

/// Logs something suspicious that did not stop the call.
pub fn warn(message: &str) {
    write(Level::Warn, message);
}

/// Logs a failure.
pub fn error(message: &str) {
    write(Level::Error, message);
}

#[cfg(target_arch = "wasm32")]
fn write(level: Level, message: &str) {
    crate::bindings::segmenter::retain::strategy::log::write(level, message);
}

#[cfg(not(target_arch = "wasm32"))]
fn write(level: Level, message: &str) {
    let level = match level {
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    };
    eprintln!("plugin {level}: {message}");
}

#[cfg(test)]
mod tests {
    #[test]
    fn natively_every_level_goes_to_stderr_without_the_host() {
        super::debug("d");
        super::info("i");
        super::warn("w");
        super::error("e");
    }
}
