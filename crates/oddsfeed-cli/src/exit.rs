//! Exit codes (docs/CLI.md "Exit codes"): the one place where library errors become numbers.
//!
//! The libraries only say what happened (`is_auth_refused`); this module decides what a shell
//! sees: 0 finished, 1 any other fatal error, 2 a bad command line (clap), 3 refused
//! credentials.

use oddsfeed::img::ImgError;
use oddsfeed::ws::WsError;

/// Refused credentials.
pub(crate) const AUTH_REFUSED: u8 = 3;
/// Any other fatal error.
pub(crate) const FAILURE: u8 = 1;

/// The exit code for a WebSocket client error.
pub(crate) fn ws_code(error: &WsError) -> u8 {
    if error.is_auth_refused() {
        AUTH_REFUSED
    } else {
        FAILURE
    }
}

/// The exit code for an IMG client error.
pub(crate) fn img_code(error: &ImgError) -> u8 {
    if error.is_auth_refused() {
        AUTH_REFUSED
    } else {
        FAILURE
    }
}
