//! The `Identity` suite: who the caller is.

use amiref_core::Identity;

use crate::report::ensure;
use crate::{Capabilities, Fixture, Report};

/// Checks that the caller is the fixture's account, with an ARN in it.
pub async fn run(identity: &dyn Identity, fixture: &Fixture, _caps: &Capabilities) -> Report {
    let mut r = Report::new("identity");
    r.check("caller_is_the_fixture_account", async {
        let who = identity.caller().await?;
        ensure!(
            who.account == fixture.me,
            "caller {}, expected {}",
            who.account,
            fixture.me
        );
        ensure!(
            who.arn.starts_with("arn:") && who.arn.contains(who.account.as_str()),
            "ARN {:?} does not name the account",
            who.arn
        );
        Ok(())
    })
    .await;
    r
}
