//! The `AccountSettings` suite: the account's Allowed AMIs setting per region.

use amiref_core::{AccountSettings, AllowedImagesState};

use crate::report::ensure;
use crate::{Capabilities, Fixture, Report};

/// Runs every account-settings check against `settings`, seeded with `fixture`.
pub async fn run(settings: &dyn AccountSettings, fixture: &Fixture, caps: &Capabilities) -> Report {
    let mut r = Report::new("settings");

    r.check_if(
        caps.allowed_images,
        "allowed_images",
        "allowed_images_default_to_disabled",
        async {
            let got = settings.allowed_images_settings(&fixture.region).await?;
            ensure!(
                got.state == AllowedImagesState::Disabled,
                "the fixture region's Allowed AMIs state is {}, expected EC2's default, disabled",
                got.state.as_str()
            );
            ensure!(!got.restricts(), "a disabled setting restricts: {got:?}");
            Ok(())
        },
    )
    .await;

    r.check_if(
        caps.allowed_images,
        "allowed_images",
        "allowed_images_settings_are_read_as_set",
        async {
            let want = &fixture.allowed_images;
            let got = settings
                .allowed_images_settings(&fixture.settings_region)
                .await?;
            ensure!(
                got.state == want.state,
                "state {} in {}, expected {}",
                got.state.as_str(),
                fixture.settings_region,
                want.state.as_str()
            );
            ensure!(
                got.criteria == want.criteria,
                "criteria {:?}, expected {:?}",
                got.criteria,
                want.criteria
            );
            Ok(())
        },
    )
    .await;

    r
}
