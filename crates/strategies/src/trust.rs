//! Whose images the resolver accepts.

use std::collections::{BTreeMap, BTreeSet};

use amiref_core::{AccountId, Image, Owner};

/// Why a set of search owners cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// The search names no owner: anyone could publish a matching name (name-squatting).
    #[error(
        "a search with no owner is refused: anyone can publish an image with a matching name; \
         set ami_search.owner to an account id, \"self\", \"amazon\" or a named owner of the trust policy"
    )]
    NoOwner,
    /// A named owner the trust policy does not map to accounts.
    #[error(
        "named owner {name:?} is not defined by the trust policy (known named owners: {known}); \
         map it to account ids in the trust policy's named_owners"
    )]
    UnknownNamedOwner {
        /// The name.
        name: String,
        /// The names the policy knows, comma-separated.
        known: String,
    },
}

/// The owners whose images the resolver accepts, and the named owners it knows.
///
/// A *named owner* (`prism-community`) means nothing to EC2. The policy maps it to account
/// ids, so the name never reaches EC2 and nobody can claim it by choosing an alias. The
/// accounts of a named owner are trusted.
///
/// ```
/// use amiref_core::{AccountId, Owner};
/// use amiref_strategies::TrustPolicy;
///
/// let policy = TrustPolicy::default()
///     .with_named_owner("prism-community", [AccountId::new("123456789012").unwrap()]);
/// let owners = policy.resolve_owners(&[Owner::new("prism-community").unwrap()]).unwrap();
/// assert_eq!(owners, vec![Owner::Account(AccountId::new("123456789012").unwrap())]);
/// assert!(policy.resolve_owners(&[]).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustPolicy {
    /// Owners whose images are accepted: account ids, `self`, `amazon`, `aws-marketplace`.
    #[serde(default)]
    pub trusted_owners: BTreeSet<Owner>,
    /// Named owners and the accounts they stand for.
    #[serde(default)]
    pub named_owners: BTreeMap<String, Vec<AccountId>>,
}

impl Default for TrustPolicy {
    /// Trusts the caller's own images, Amazon's, and AWS Marketplace sellers' (whose images
    /// are also checked against their product code); knows no named owner.
    fn default() -> Self {
        Self {
            trusted_owners: [Owner::Me, Owner::Amazon, Owner::AwsMarketplace]
                .into_iter()
                .collect(),
            named_owners: BTreeMap::new(),
        }
    }
}

impl TrustPolicy {
    /// A policy that trusts nobody.
    pub fn empty() -> Self {
        Self {
            trusted_owners: BTreeSet::new(),
            named_owners: BTreeMap::new(),
        }
    }

    /// Also trusts `owner`. A named owner must be defined with [`Self::with_named_owner`].
    #[must_use]
    pub fn with_trusted(mut self, owner: Owner) -> Self {
        self.trusted_owners.insert(owner);
        self
    }

    /// Defines a named owner as these accounts, and trusts them.
    #[must_use]
    pub fn with_named_owner(
        mut self,
        name: impl Into<String>,
        accounts: impl IntoIterator<Item = AccountId>,
    ) -> Self {
        self.named_owners
            .insert(name.into(), accounts.into_iter().collect());
        self
    }

    /// Whether telling if an image is trusted may need the caller's account (`self`).
    pub fn needs_caller(&self) -> bool {
        self.trusted_owners.contains(&Owner::Me)
    }

    /// Replaces named owners by their accounts, refusing an empty list and unknown names.
    pub fn resolve_owners(&self, owners: &[Owner]) -> Result<Vec<Owner>, TrustError> {
        if owners.is_empty() {
            return Err(TrustError::NoOwner);
        }
        let mut out: Vec<Owner> = Vec::new();
        for owner in owners {
            match owner {
                Owner::Named(name) => {
                    let accounts = self.named_owners.get(name).ok_or_else(|| {
                        TrustError::UnknownNamedOwner {
                            name: name.clone(),
                            known: if self.named_owners.is_empty() {
                                "none".to_owned()
                            } else {
                                self.named_owners
                                    .keys()
                                    .cloned()
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            },
                        }
                    })?;
                    out.extend(accounts.iter().cloned().map(Owner::Account));
                }
                other => out.push(other.clone()),
            }
        }
        out.dedup();
        if out.is_empty() {
            return Err(TrustError::NoOwner);
        }
        Ok(out)
    }

    /// Whether `image` belongs to one of `owners` (already resolved): by account, by EC2
    /// alias, or `self` as `caller`.
    pub fn owned_by_any(image: &Image, owners: &[Owner], caller: Option<&AccountId>) -> bool {
        owners.iter().any(|o| match o {
            Owner::Account(a) => &image.owner == a,
            Owner::Amazon => image.owner_alias.as_deref() == Some("amazon"),
            Owner::AwsMarketplace => image.owner_alias.as_deref() == Some("aws-marketplace"),
            Owner::Me => caller == Some(&image.owner),
            Owner::Named(_) => false,
        })
    }

    /// Whether the policy trusts the image's real owner.
    pub fn trusts(&self, image: &Image, caller: Option<&AccountId>) -> bool {
        let trusted: Vec<Owner> = self
            .trusted_owners
            .iter()
            .cloned()
            .chain(
                self.named_owners
                    .values()
                    .flatten()
                    .cloned()
                    .map(Owner::Account),
            )
            .collect();
        Self::owned_by_any(image, &trusted, caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use amiref_core::Architecture;

    fn acct(s: &str) -> AccountId {
        AccountId::new(s).unwrap()
    }

    fn image(owner: &str, alias: Option<&str>) -> Image {
        let mut i = Image::new(
            "ami-12345678".parse().unwrap(),
            "us-east-1".parse().unwrap(),
            "x",
            acct(owner),
            Architecture::X86_64,
            chrono::DateTime::UNIX_EPOCH,
        );
        i.owner_alias = alias.map(str::to_owned);
        i
    }

    #[test]
    fn named_owner_maps_to_accounts_and_unknown_names_are_refused() {
        let p = TrustPolicy::default().with_named_owner("lab", [acct("111111111111")]);
        assert_eq!(
            p.resolve_owners(&[Owner::new("lab").unwrap(), Owner::Amazon])
                .unwrap(),
            vec![Owner::Account(acct("111111111111")), Owner::Amazon]
        );
        let err = p
            .resolve_owners(&[Owner::new("stranger").unwrap()])
            .unwrap_err();
        assert!(err.to_string().contains("\"stranger\""), "{err}");
        assert_eq!(p.resolve_owners(&[]), Err(TrustError::NoOwner));
    }

    #[test]
    fn trust_follows_accounts_aliases_and_self() {
        let p = TrustPolicy::default().with_named_owner("lab", [acct("111111111111")]);
        assert!(p.trusts(&image("111111111111", None), None));
        assert!(p.trusts(&image("222222222222", Some("amazon")), None));
        assert!(!p.trusts(&image("333333333333", None), None));
        assert!(p.trusts(&image("333333333333", None), Some(&acct("333333333333"))));
        assert!(!TrustPolicy::empty().trusts(&image("222222222222", Some("amazon")), None));
    }
}
