//! Randomness from the host (`getrandom`: the OS natively, WASI `random_get`
//! inside Envoy).

use getrandom::rand_core::UnwrapErr;
use getrandom::SysRng;

/// Fill `buf` with random bytes. Fails closed: an error means no randomness.
pub fn fill(buf: &mut [u8]) -> Result<(), getrandom::Error> {
    getrandom::fill(buf)
}

/// The system RNG as a fallible `TryCryptoRng`: for request-path operations
/// (RSA blinding), where an RNG failure must become an error, never a panic.
pub fn rng() -> SysRng {
    SysRng
}

/// The system RNG for APIs that insist on an infallible `CryptoRng`. It panics
/// if the OS has no randomness, so it is only for the CLI (key generation,
/// minting), never on the request path.
pub fn infallible_rng() -> UnwrapErr<SysRng> {
    UnwrapErr(SysRng)
}
