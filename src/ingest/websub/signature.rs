//! The secrets a subscription shares with its hub, and the signature a hub
//! puts on what it pushes (`X-Hub-Signature: method=hex`).

use crate::model::article::hex;
use hmac::{Hmac, Mac};

/// `n` random bytes from the OS, as hex.
pub(super) fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    if let Err(error) = getrandom::fill(&mut bytes) {
        // Without the OS's randomness there is no secret to give a hub.
        panic!("the operating system's random source failed: {error}");
    }
    hex(&bytes)
}

/// Whether `header` (`method=hex`) is `body`'s HMAC with `secret`, by
/// one of the methods the recommendation lists (sha1 to sha512); compared
/// in constant time.
pub(super) fn signed(header: &str, secret: &[u8], body: &[u8]) -> bool {
    let Some((method, hex)) = header.trim().split_once('=') else {
        return false;
    };
    let Some(expected) = decode_hex(hex.trim()) else {
        return false;
    };
    fn check<M: Mac + hmac::digest::KeyInit>(secret: &[u8], body: &[u8], expected: &[u8]) -> bool {
        let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(secret) else {
            return false;
        };
        mac.update(body);
        mac.verify_slice(expected).is_ok()
    }
    match method.to_ascii_lowercase().as_str() {
        "sha1" => check::<Hmac<sha1::Sha1>>(secret, body, &expected),
        "sha256" => check::<Hmac<sha2::Sha256>>(secret, body, &expected),
        "sha384" => check::<Hmac<sha2::Sha384>>(secret, body, &expected),
        "sha512" => check::<Hmac<sha2::Sha512>>(secret, body, &expected),
        _ => false,
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_for_each_method() {
        let body = b"<feed/>";
        let sign = |method: &str| {
            let mac = match method {
                "sha1" => hex(&Hmac::<sha1::Sha1>::new_from_slice(b"k")
                    .unwrap()
                    .chain_update(body)
                    .finalize()
                    .into_bytes()),
                _ => hex(&Hmac::<sha2::Sha256>::new_from_slice(b"k")
                    .unwrap()
                    .chain_update(body)
                    .finalize()
                    .into_bytes()),
            };
            format!("{method}={mac}")
        };
        assert!(signed(&sign("sha1"), b"k", body));
        assert!(signed(&sign("sha256"), b"k", body));
        assert!(!signed(&sign("sha256"), b"other", body));
        assert!(!signed(&sign("sha256"), b"k", b"<feed>changed</feed>"));
        assert!(!signed(
            &sign("sha256").replace("sha256", "md5"),
            b"k",
            body
        ));
        assert!(!signed("sha256=zz", b"k", body));
        assert!(!signed("sha256=é", b"k", body));
        assert!(!signed("", b"k", body));
        assert_eq!(random_hex(16).len(), 32);
        assert_ne!(random_hex(16), random_hex(16));
    }
}
