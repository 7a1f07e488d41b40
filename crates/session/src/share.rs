//! `ami share` and `ami share --remove`: launch permissions for accounts, organizations,
//! organizational units or everyone, through the lifecycle's share (which also grants the
//! snapshots' create-volume permission to the accounts, and audits).

use amiref_core::{AccountId, AmiId, LaunchPermission, Region};
use amiref_lifecycle::{ProgressSink, ShareAction, ShareReport, ShareSpec};

use crate::{Session, SessionError};

/// Who gets (or loses) launch permission.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Grantees {
    /// Accounts.
    pub accounts: Vec<AccountId>,
    /// Organization ARNs (`arn:aws:organizations::111122223333:organization/o-…`).
    pub organizations: Vec<String>,
    /// Organizational unit ARNs (`arn:aws:organizations::…:ou/o-…/ou-…`).
    pub organizational_units: Vec<String>,
    /// Everyone.
    pub public: bool,
}

impl Grantees {
    /// Nobody yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// These accounts too.
    #[must_use]
    pub fn accounts(mut self, accounts: impl IntoIterator<Item = AccountId>) -> Self {
        self.accounts.extend(accounts);
        self
    }

    /// These organizations too.
    #[must_use]
    pub fn organizations(mut self, arns: impl IntoIterator<Item = String>) -> Self {
        self.organizations.extend(arns);
        self
    }

    /// These organizational units too.
    #[must_use]
    pub fn organizational_units(mut self, arns: impl IntoIterator<Item = String>) -> Self {
        self.organizational_units.extend(arns);
        self
    }

    /// Everyone.
    #[must_use]
    pub fn public(mut self, public: bool) -> Self {
        self.public = public;
        self
    }

    /// Whether nobody is named.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
            && self.organizations.is_empty()
            && self.organizational_units.is_empty()
            && !self.public
    }

    /// The launch permissions, the ARNs checked.
    pub fn permissions(&self) -> Result<Vec<LaunchPermission>, SessionError> {
        let mut permissions: Vec<LaunchPermission> = self
            .accounts
            .iter()
            .cloned()
            .map(LaunchPermission::Account)
            .collect();
        for arn in &self.organizations {
            check_arn(arn, ArnKind::Organization)?;
            permissions.push(LaunchPermission::Organization(arn.clone()));
        }
        for arn in &self.organizational_units {
            check_arn(arn, ArnKind::OrganizationalUnit)?;
            permissions.push(LaunchPermission::OrganizationalUnit(arn.clone()));
        }
        if self.public {
            permissions.push(LaunchPermission::Public);
        }
        Ok(permissions)
    }
}

/// `ami share`: grant or revoke launch permissions on an image.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ShareRequest {
    /// The image.
    pub image: AmiId,
    /// Where it is (the session's region when `None`).
    pub region: Option<Region>,
    /// Who.
    pub grantees: Grantees,
    /// Grant or revoke.
    pub action: ShareAction,
    /// Also grant (or revoke) the snapshots' create-volume permission to the accounts, so
    /// that they can copy the image (default on).
    pub snapshot_permissions: bool,
    /// Report what would be done; change nothing.
    pub dry_run: bool,
}

impl ShareRequest {
    /// Grant `grantees` launch permission on `image`.
    pub fn grant(image: AmiId, grantees: Grantees) -> Self {
        Self {
            image,
            region: None,
            grantees,
            action: ShareAction::Add,
            snapshot_permissions: true,
            dry_run: false,
        }
    }

    /// Revoke `grantees`' launch permission on `image`.
    pub fn revoke(image: AmiId, grantees: Grantees) -> Self {
        Self {
            action: ShareAction::Remove,
            ..Self::grant(image, grantees)
        }
    }

    /// In this region.
    #[must_use]
    pub fn region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// Whether to touch the snapshots' create-volume permission.
    #[must_use]
    pub fn snapshot_permissions(mut self, on: bool) -> Self {
        self.snapshot_permissions = on;
        self
    }

    /// A dry run.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

impl Session {
    /// `ami share` / `ami share --remove`: only permissions not already as asked change;
    /// refused where block public access for AMIs is on (public), for encrypted snapshots
    /// (public), and for images that are not the caller's. Audited by the lifecycle.
    pub async fn share_image(
        &self,
        request: &ShareRequest,
        progress: &dyn ProgressSink,
    ) -> Result<ShareReport, SessionError> {
        if request.grantees.is_empty() {
            return Err(SessionError::InvalidInput {
                field: "grantees".into(),
                found: "nobody".into(),
                expected:
                    "at least one account, organization, organizational unit, or everyone (public)"
                        .into(),
            });
        }
        let region = request
            .region
            .clone()
            .unwrap_or_else(|| self.region().clone());
        let permissions = request.grantees.permissions()?;
        let mut spec = match request.action {
            ShareAction::Remove => ShareSpec::remove(region, request.image.clone(), permissions),
            _ => ShareSpec::add(region, request.image.clone(), permissions),
        }
        .dry_run(request.dry_run);
        spec.snapshot_permissions = request.snapshot_permissions;
        Ok(self.lifecycle(progress).share(&spec).await?)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArnKind {
    Organization,
    OrganizationalUnit,
}

/// Checks an Organizations ARN's shape, so a typo fails here rather than as EC2's
/// `InvalidParameter` after other permissions were granted.
fn check_arn(arn: &str, kind: ArnKind) -> Result<(), SessionError> {
    let (field, expected) = match kind {
        ArnKind::Organization => (
            "organization",
            "an organization ARN: arn:aws:organizations::<12-digit management account>:organization/o-<10 to 32 lowercase letters or digits>",
        ),
        ArnKind::OrganizationalUnit => (
            "organizational unit",
            "an OU ARN: arn:aws:organizations::<12-digit management account>:ou/o-<id>/ou-<4 to 32 lowercase letters or digits>-<8 to 32 lowercase letters or digits>",
        ),
    };
    let refused = || SessionError::InvalidInput {
        field: field.into(),
        found: arn.to_owned(),
        expected: expected.into(),
    };
    let rest = arn
        .strip_prefix("arn:aws:organizations::")
        .or_else(|| arn.strip_prefix("arn:aws-us-gov:organizations::"))
        .or_else(|| arn.strip_prefix("arn:aws-cn:organizations::"))
        .ok_or_else(refused)?;
    let (account, resource) = rest.split_once(':').ok_or_else(refused)?;
    if account.parse::<AccountId>().is_err() {
        return Err(refused());
    }
    // Organizations ids: o- and 10-32, ou- and 4-32, a dash, 8-32 (lowercase, digits).
    let id = |text: &str, prefix: &str, min: usize| {
        text.strip_prefix(prefix)
            .is_some_and(|rest| lower_alnum(rest, min))
    };
    let ok = match (kind, resource.split('/').collect::<Vec<_>>().as_slice()) {
        (ArnKind::Organization, ["organization", org]) => id(org, "o-", 10),
        (ArnKind::OrganizationalUnit, ["ou", org, ou]) => {
            id(org, "o-", 10)
                && ou
                    .strip_prefix("ou-")
                    .and_then(|rest| rest.split_once('-'))
                    .is_some_and(|(root, unit)| lower_alnum(root, 4) && lower_alnum(unit, 8))
        }
        _ => false,
    };
    if ok { Ok(()) } else { Err(refused()) }
}

/// `min` to 32 lowercase letters or digits.
fn lower_alnum(text: &str, min: usize) -> bool {
    (min..=32).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_arns_are_checked() {
        let org = "arn:aws:organizations::210987654321:organization/o-a1b2c3d4e5";
        let ou = "arn:aws:organizations::210987654321:ou/o-a1b2c3d4e5/ou-ab12-research";
        assert!(check_arn(org, ArnKind::Organization).is_ok());
        assert!(check_arn(ou, ArnKind::OrganizationalUnit).is_ok());
        assert!(check_arn(ou, ArnKind::Organization).is_err());
        assert!(check_arn(org, ArnKind::OrganizationalUnit).is_err());
        for bad in [
            "o-a1b2c3d4e5",
            "arn:aws:organizations::2109876543:organization/o-a1b2c3d4e5",
            "arn:aws:organizations::210987654321:organization/o-short",
            "arn:aws:organizations::210987654321:organization/o-A1B2C3D4E5",
        ] {
            let err = check_arn(bad, ArnKind::Organization).expect_err(bad);
            assert!(
                err.to_string().contains("expected an organization ARN"),
                "{err}"
            );
        }
    }

    #[test]
    fn nobody_is_no_grant() {
        assert!(Grantees::new().is_empty());
        assert!(!Grantees::new().public(true).is_empty());
    }
}
