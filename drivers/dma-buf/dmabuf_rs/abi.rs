// SPDX-License-Identifier: GPL-2.0-only

//! Compile-time checks that the Rust definitions of C ABI functions match the
//! prototypes in the kernel's headers.
//!
//! A `#[no_mangle] extern "C"` function links by name only: had its signature
//! drifted from the header, C callers would pass arguments the Rust side reads
//! differently, and nothing would complain. [`c_abi!`] closes that gap.

/// Asserts that each named function has the signature bindgen generated for the
/// C function of the same name.
///
/// Both arms of the `if` must coerce to one function-pointer type; two function
/// items only do that when their argument and return types are identical
/// (safety and ABI aside), so any mismatch is a type error at build time.
macro_rules! c_abi {
    ($($name:ident),+ $(,)?) => {$(
        const _: () = {
            let _ = if true { kernel::bindings::$name } else { $name };
        };
    )+};
}
