//! Idempotency tokens, computed the same way by everything that plans or makes a change, so
//! that any two callers, commands or hosts asking for the same change share one.

use sha2::{Digest, Sha256};

use crate::{AmiId, Region};

/// The client token of a copy: the same for the same copy, on any host, in any run, whether
/// the resolver planned it or `ami copy` asked for it.
///
/// It hashes everything that defines the copy, so that changing a parameter (a KMS key) makes
/// a new token rather than EC2's `IdempotentParameterMismatch`. `generation` counts attempts
/// after an earlier copy with the same parameters failed and was removed: EC2 remembers a
/// token for a while and would hand back the failed copy's id otherwise. 7 + 40 characters,
/// under EC2's 64.
///
/// ```
/// use amiref_core::{copy_client_token, AmiId, Region};
/// let (from, to) = (Region::new("us-east-1")?, Region::new("eu-west-1")?);
/// let image = AmiId::new("ami-0123456789abcdef0")?;
/// let token = copy_client_token(&from, &image, &to, "python-ml-2.1.0", None, 0);
/// assert_eq!(token, copy_client_token(&from, &image, &to, "python-ml-2.1.0", None, 0));
/// assert_ne!(token, copy_client_token(&from, &image, &to, "python-ml-2.1.0", None, 1));
/// assert!(token.len() <= 64);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn copy_client_token(
    source_region: &Region,
    source: &AmiId,
    destination: &Region,
    name: &str,
    kms_key_id: Option<&str>,
    generation: u32,
) -> String {
    let mut h = Sha256::new();
    for part in [
        "copy-v1",
        source_region.as_str(),
        source.as_str(),
        destination.as_str(),
        name,
        kms_key_id.unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.update(generation.to_be_bytes());
    format!("amiref-{}", &hex(&h.finalize())[..40])
}

/// A deterministic token for anything else amiref submits (a launch, a Marketplace change
/// set), of at most `len` characters, from the parts that define the submission.
pub fn token_from(parts: &[&str], len: usize) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let mut digest = hex(&h.finalize());
    digest.truncate(len);
    digest
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
