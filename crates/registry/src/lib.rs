//! # amiref-registry
//!
//! The community and institutional AMI registry: images other people built for a
//! template, safe to consume from strangers.
//!
//! - **Format** ([`model`]): the mission's `community_amis` YAML with a `schema_version`,
//!   publisher keys, per-entry signatures, an optional owner account and sharing policy.
//!   Errors name the file, line, column, field path and what was expected.
//! - **Sources** ([`RegistrySource`], read from text by [`RegistrySource::parse`]): a file,
//!   a directory, or an HTTPS URL fetched with conditional requests into an on-disk cache,
//!   whose last good copy is used (with a warning) when the source is unreachable. An
//!   identical signed entry served by two sources counts once ([`IdenticalCopy`]).
//! - **Trust** ([`TrustStore`], [`EntryPolicy`]): each entry is signed with ed25519 by its
//!   publisher over a canonical form ([`canonical`]); keys have ids derived from the key,
//!   so they can rotate; an unsigned, tampered, unknown-key or revoked-key entry is refused
//!   (unsigned ones are admitted, marked, only when the policy allows). Entries that do not
//!   add up are refused one by one. A trust store file listing a key twice is refused;
//!   wherever stores are merged, a key revoked in any of them is revoked; a retired key's
//!   entries are used, flagged (`signer_retired`). [`Keygen`] makes a publisher's key pair:
//!   the secret created new with mode 0600, never through a symbolic link, replaced
//!   atomically, and only once the trust store is known to be valid.
//! - **Layers**: institutional above community: an institutional entry always ranks first
//!   and shadows a community entry of the same version. Ratings ([`RatingsOverlay`], one per
//!   rater and version, only of versions a registry offers) layer above both. Sharing
//!   policies are checked against the caller's identity.
//! - **Sharing with a community** ([`ShareRequest`], [`SharePlan`]): a signed entry for an
//!   image in a community's registry file, planned (checked, nothing written) then applied,
//!   with the launch permissions the registry's `sharing` policy implies.
//! - **Choosing** ([`Scoring`]): a Bayesian average of ratings, recency and verification,
//!   with version as the tie-break; every candidate carries its explanation, and every entry
//!   the figures it is ranked by ([`AdmittedEntry::ranked_by`], serializable).
//!   [`Registry`] implements [`amiref_core::ImageRegistry`], the resolver's community tier.
//!
//! ```
//! use amiref_registry::{Layer, ParsedRegistry, PublisherKey, Registry, TrustStore, KeyStatus};
//! use rand::SeedableRng;
//!
//! let yaml = r#"
//! schema_version: 1
//! community_amis:
//!   python-ml:
//!     v2.1.0:
//!       creator: ml-research-group@university.edu
//!       regions: { us-east-1: ami-0123456789abcdef0 }
//!       ratings: { average: 4.8, reviews: 23, downloads: 1247 }
//! "#;
//! let mut parsed = ParsedRegistry::from_yaml_str(yaml, "community.yml").unwrap();
//! let key = PublisherKey::from_seed("ml-research-group", [7; 32]);
//! parsed.sign_all(&key).unwrap();
//!
//! let registry = Registry::builder()
//!     .trust_store(TrustStore::new().with_key("ml-research-group", key.verifying_key(), KeyStatus::Active))
//!     .document(Layer::Community, parsed)
//!     .build_from_documents();
//! let best = registry.best("python-ml", &"us-east-1".parse().unwrap(), &[]).unwrap();
//! assert_eq!(best.image.as_str(), "ami-0123456789abcdef0");
//! ```

mod admission;
mod build_entry;
pub mod canonical;
mod document;
mod duplicates;
mod error;
mod files;
mod http;
mod keygen;
pub mod model;
mod overlay;
mod policy;
mod registry;
mod score;
mod share;
mod sign;
mod source;
mod trust;
mod yaml;

pub use build_entry::{BuildEntry, BuildEntryChange, BuildEntryPlan, WrittenEntry};
pub use document::{ParsedRegistry, parse_version};
pub use duplicates::IdenticalCopy;
pub use error::{LoadError, Problem, SignError, SourceError};
pub use http::{Fetched, Freshness, HttpSource, HttpSourceBuilder, MAX_BODY_BYTES};
pub use keygen::{Keygen, KeygenError, KeygenReport, Overwrite, TrustStoreUpdate};
pub use model::{
    Entry, EntrySignature, PublisherKeyInfo, Ratings, RegistryDocument, ScanStatus, SharingPolicy,
    Verification, json_schema,
};
pub use overlay::{LocalRating, RateError, Rated, RatingsOverlay, SELF_RATER};
pub use policy::EntryPolicy;
pub use registry::{
    AdmittedEntry, Candidate, Layer, LoadReport, Provenance, RankedBy, Refusal, Registry,
    RegistryBuilder,
};
pub use score::{RatingFigures, RecencyFigures, Score, Scoring, VerificationFigures};
pub use share::{
    CommunityShare, EntryChange, NoShareAudience, ShareError, SharePlan, ShareRequest,
    community_registry_path,
};
pub use sign::{SignFileError, SignReport, SignRequest, SignedEntry};
pub use source::{Loaded, RegistrySource};
pub use trust::{
    KeyId, KeyStatus, PublisherKey, SignatureCheck, TrustStore, TrustStoreFile, TrustedKey,
    TrustedKeyRecord,
};
