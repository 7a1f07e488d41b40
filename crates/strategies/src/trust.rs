//! Whose images the resolver accepts.

use std::collections::{BTreeMap, BTreeSet};

use amiref_core::{AccountId, Image, Owner};

use crate::reason::owners_text;
use crate::{PolicyOrigin, PolicySummary};

/// Why a set of search owners cannot be used.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    thiserror::Error,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
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
        "named owner {name:?} is not defined by the trust policy (known named owners: {}); \
         map it to account ids in the trust policy's named_owners",
        if known.is_empty() { "none".to_owned() } else { known.join(", ") }
    )]
    UnknownNamedOwner {
        /// The name.
        name: String,
        /// The names the policy knows.
        known: Vec<String>,
    },
    /// Every owner the search names is outside the trust policy: the policy is the
    /// ceiling, and a template can only narrow it.
    #[error(
        "{policy} does not trust {}: a template can only narrow the trust policy; \
         add the owner to the policy's trusted_owners (or named_owners) to search its images",
        owners_text(owners)
    )]
    UntrustedOwners {
        /// The refused owners.
        owners: Vec<Owner>,
        /// The policy.
        policy: PolicySummary,
    },
}

/// The owners a search may ask for under a policy, and those it refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SearchOwners {
    /// What to send to the cloud: named owners mapped to accounts, every one trusted (or,
    /// for an account id, trusted when it is the caller's and the policy trusts `self`).
    pub owners: Vec<Owner>,
    /// Owners of the search that the policy does not trust.
    pub refused: Vec<Owner>,
}

/// The owners whose images the resolver accepts, and the named owners it knows.
///
/// The policy is the ceiling of every tier: whatever a template asks for, an image is used
/// only when its real owner is one the policy trusts. A *named owner* (`prism-community`)
/// means nothing to EC2; the policy maps it to account ids, so the name never reaches EC2
/// and nobody can claim it by choosing an alias. The accounts of a named owner are trusted.
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
/// // The default policy trusts the caller and Amazon only.
/// assert!(policy.search_owners(&[Owner::AwsMarketplace], None).is_err());
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
    /// Whether a signed registry entry that states its image's owner may vouch for an owner
    /// outside this policy (default `false`: registry images are held to the policy like
    /// every other tier's).
    #[serde(default)]
    pub registry_publishers_may_vouch: bool,
    /// Where the policy came from, for messages (a file path); not part of the file.
    #[serde(skip)]
    pub origin: Option<String>,
}

impl Default for TrustPolicy {
    /// Trusts the caller's own images and Amazon's; knows no named owner. Marketplace
    /// sellers, community accounts and every other account need a policy that names them.
    fn default() -> Self {
        Self {
            trusted_owners: [Owner::Me, Owner::Amazon].into_iter().collect(),
            named_owners: BTreeMap::new(),
            registry_publishers_may_vouch: false,
            origin: None,
        }
    }
}

impl TrustPolicy {
    /// A policy that trusts nobody.
    pub fn empty() -> Self {
        Self {
            trusted_owners: BTreeSet::new(),
            named_owners: BTreeMap::new(),
            registry_publishers_may_vouch: false,
            origin: None,
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

    /// Lets signed registry entries vouch for owners outside the policy.
    #[must_use]
    pub fn with_registry_vouching(mut self, allowed: bool) -> Self {
        self.registry_publishers_may_vouch = allowed;
        self
    }

    /// Names where the policy came from (a file path), for messages.
    #[must_use]
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// The policy as reports name it: where it came from (a file, the default, code) and
    /// whom it trusts.
    pub fn summary(&self) -> PolicySummary {
        let trusts = self
            .trusted_owners
            .iter()
            .map(|o| o.as_str().to_owned())
            .chain(self.named_owners.keys().cloned())
            .collect();
        let origin = match &self.origin {
            Some(path) => PolicyOrigin::File { path: path.clone() },
            None if *self == Self::default() => PolicyOrigin::Default,
            None => PolicyOrigin::Code,
        };
        PolicySummary { origin, trusts }
    }

    /// The policy as messages name it: `the trust policy FILE (trusts self, amazon)` for a
    /// policy read from a file, `the default trust policy (...)` for the default, and `the
    /// trust policy (...)` for one built in code.
    pub fn describe(&self) -> String {
        self.summary().to_string()
    }

    /// Whether telling if an image is trusted may need the caller's account (`self`).
    pub fn needs_caller(&self) -> bool {
        self.trusted_owners.contains(&Owner::Me)
    }

    /// Replaces named owners by their accounts, refusing an empty list and unknown names.
    /// It does not apply the policy's ceiling: see [`Self::search_owners`].
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
                            known: self.named_owners.keys().cloned().collect(),
                        }
                    })?;
                    out.extend(accounts.iter().cloned().map(Owner::Account));
                }
                other => out.push(other.clone()),
            }
        }
        let mut seen = BTreeSet::new();
        out.retain(|o| seen.insert(o.clone()));
        if out.is_empty() {
            return Err(TrustError::NoOwner);
        }
        Ok(out)
    }

    /// Whether [`Self::search_owners`] needs the caller's account to judge `owners`: one of
    /// them is an account id the policy trusts only if it is the caller's (`self`).
    pub fn needs_caller_for(&self, owners: &[Owner]) -> bool {
        self.trusted_owners.contains(&Owner::Me)
            && owners
                .iter()
                .any(|o| matches!(o, Owner::Account(_)) && !self.trusts_directly(o))
    }

    /// The owners a search may ask for: the search's owners (named ones mapped), narrowed
    /// to those the policy trusts. An account id counts as trusted when the policy names it,
    /// or when it is `caller`'s and the policy trusts `self`. Refuses a search none of whose
    /// owners is trusted, naming the policy and the owners.
    pub fn search_owners(
        &self,
        owners: &[Owner],
        caller: Option<&AccountId>,
    ) -> Result<SearchOwners, TrustError> {
        let me = self.trusted_owners.contains(&Owner::Me);
        self.narrow(owners, |o| {
            self.trusts_directly(o) || matches!(o, Owner::Account(a) if me && caller == Some(a))
        })
    }

    /// The owners a search may send before the caller is known: those the policy trusts,
    /// and account ids that it trusts if they are the caller's (`self`). Refuses, without a
    /// call, a search none of whose owners can be trusted whoever the caller is.
    /// [`Self::search_owners`] then decides with the caller's account.
    pub fn search_owners_provisionally(&self, owners: &[Owner]) -> Result<Vec<Owner>, TrustError> {
        let me = self.trusted_owners.contains(&Owner::Me);
        self.narrow(owners, |o| {
            self.trusts_directly(o) || (me && matches!(o, Owner::Account(_)))
        })
        .map(|s| s.owners)
    }

    /// `owners` (named ones mapped) split by `keep`; refused when none is kept.
    fn narrow(
        &self,
        owners: &[Owner],
        keep: impl Fn(&Owner) -> bool,
    ) -> Result<SearchOwners, TrustError> {
        let (owners, refused): (Vec<Owner>, Vec<Owner>) =
            self.resolve_owners(owners)?.into_iter().partition(keep);
        if owners.is_empty() {
            return Err(TrustError::UntrustedOwners {
                owners: refused,
                policy: self.summary(),
            });
        }
        Ok(SearchOwners { owners, refused })
    }

    /// Whether the policy names `owner` (already resolved) itself.
    fn trusts_directly(&self, owner: &Owner) -> bool {
        match owner {
            Owner::Account(a) => {
                self.trusted_owners.contains(owner) || self.named_accounts().any(|n| n == a)
            }
            Owner::Named(_) => false,
            other => self.trusted_owners.contains(other),
        }
    }

    fn named_accounts(&self) -> impl Iterator<Item = &AccountId> {
        self.named_owners.values().flatten()
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
        self.trusted_owners
            .iter()
            .any(|o| Self::owned_by_any(image, std::slice::from_ref(o), caller))
            || self.named_accounts().any(|a| &image.owner == a)
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
        assert!(
            !TrustPolicy::empty().trusts(&image("333333333333", None), Some(&acct("333333333333")))
        );
    }

    #[test]
    fn the_policy_is_the_ceiling_of_a_search() {
        let p = TrustPolicy::default();
        let me = acct("333333333333");
        // The default trusts self and amazon only, and says so.
        let err = p.search_owners(&[Owner::AwsMarketplace], None).unwrap_err();
        assert!(matches!(err, TrustError::UntrustedOwners { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("the default trust policy (trusts self, amazon)"),
            "{err}"
        );
        let stranger = Owner::Account(acct("555566667777"));
        assert!(p.needs_caller_for(std::slice::from_ref(&stranger)));
        assert!(
            p.search_owners(std::slice::from_ref(&stranger), Some(&me))
                .is_err()
        );
        // An account id that is the caller's own is trusted through `self`.
        let mine = Owner::Account(me.clone());
        assert_eq!(
            p.search_owners(std::slice::from_ref(&mine), Some(&me))
                .unwrap()
                .owners,
            vec![mine.clone()]
        );
        // Mixed: the trusted ones are searched, the others reported.
        let s = p
            .search_owners(&[Owner::Amazon, stranger.clone()], Some(&me))
            .unwrap();
        assert_eq!(s.owners, vec![Owner::Amazon]);
        assert_eq!(s.refused, vec![stranger]);
        // A policy that trusts nobody refuses even self and amazon.
        assert!(
            TrustPolicy::empty()
                .search_owners(&[Owner::Me, Owner::Amazon], Some(&me))
                .is_err()
        );
        let named = p
            .clone()
            .with_origin("trust.yaml")
            .with_named_owner("lab", [acct("111111111111")]);
        assert!(
            named
                .search_owners(&[Owner::new("lab").unwrap()], None)
                .is_ok()
        );
        assert!(named.describe().starts_with("the trust policy trust.yaml"));
    }
}
