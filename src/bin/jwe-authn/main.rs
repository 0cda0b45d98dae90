//! The `jwe-authn` CLI. STUB.
fn main() {}
