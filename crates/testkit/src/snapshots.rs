//! The snapshot-access suite (`ImageCatalog::can_create_volumes`): whether the caller may
//! create volumes from a snapshot, which copying an image shared with it needs on every
//! snapshot of the image.

use std::collections::BTreeSet;

use amiref_core::{AmiId, ImageCatalog, SnapshotId};

use crate::fixture::keys::*;
use crate::report::{Failure, ensure};
use crate::{Capabilities, Fixture, Report};

/// The snapshots behind an image the caller can describe.
async fn snapshots_of(
    catalog: &dyn ImageCatalog,
    fixture: &Fixture,
    image: &AmiId,
) -> Result<Vec<SnapshotId>, Failure> {
    let described = catalog
        .describe_images(&fixture.region, std::slice::from_ref(image))
        .await?;
    let image = described
        .first()
        .ok_or_else(|| Failure(format!("{image} is not described")))?;
    let snapshots: Vec<SnapshotId> = image.snapshot_ids().cloned().collect();
    ensure!(
        !snapshots.is_empty(),
        "{} reports no snapshot behind it: {:?}",
        image.id,
        image.block_devices
    );
    Ok(snapshots)
}

/// Asks for `snapshots` and checks each is answered `expected`.
async fn expect_access(
    catalog: &dyn ImageCatalog,
    fixture: &Fixture,
    snapshots: &[SnapshotId],
    expected: bool,
    what: &str,
) -> Result<(), Failure> {
    let got = catalog
        .can_create_volumes(&fixture.region, snapshots)
        .await?;
    for snapshot in snapshots {
        match got.get(snapshot) {
            Some(v) if *v == expected => {}
            Some(v) => {
                return Err(Failure(format!(
                    "{what}: {snapshot} answered {v}, expected {expected}"
                )));
            }
            None => return Err(Failure(format!("{what}: {snapshot} is not answered"))),
        }
    }
    Ok(())
}

/// Runs every snapshot-access check against `catalog`, seeded with `fixture`.
pub async fn run(catalog: &dyn ImageCatalog, fixture: &Fixture, caps: &Capabilities) -> Report {
    let mut r = Report::new("snapshots");

    r.check("own_snapshots_allow_volumes", async {
        let snapshots = snapshots_of(catalog, fixture, &fixture.id(MINE_X86)?).await?;
        expect_access(
            catalog,
            fixture,
            &snapshots,
            true,
            "the caller's own snapshot",
        )
        .await
    })
    .await;

    r.check("unknown_snapshots_answer_false", async {
        expect_access(
            catalog,
            fixture,
            std::slice::from_ref(&fixture.missing_snapshot),
            false,
            "a snapshot that does not exist",
        )
        .await
    })
    .await;

    r.check("every_asked_snapshot_is_answered_once", async {
        let mut asked = snapshots_of(catalog, fixture, &fixture.id(MINE_ARM)?).await?;
        asked.push(fixture.missing_snapshot.clone());
        asked.push(fixture.missing_snapshot.clone());
        let got = catalog.can_create_volumes(&fixture.region, &asked).await?;
        let want: BTreeSet<&SnapshotId> = asked.iter().collect();
        let keys: BTreeSet<&SnapshotId> = got.keys().collect();
        ensure!(keys == want, "asked {want:?}, answered {keys:?}");
        let none = catalog.can_create_volumes(&fixture.region, &[]).await?;
        ensure!(none.is_empty(), "asking for nothing answered {none:?}");
        Ok(())
    })
    .await;

    r.check_if(
        caps.snapshot_permissions && caps.visibility,
        "snapshot_permissions",
        "shared_snapshots_with_permission_allow_volumes",
        async {
            let snapshots = snapshots_of(catalog, fixture, &fixture.id(SHARED_WITH_ME)?).await?;
            expect_access(
                catalog,
                fixture,
                &snapshots,
                true,
                "a snapshot the partner granted create-volume permission on",
            )
            .await
        },
    )
    .await;

    r.check_if(
        caps.snapshot_permissions && caps.visibility,
        "snapshot_permissions",
        "shared_image_without_volume_permission_answers_false",
        async {
            let snapshots = snapshots_of(catalog, fixture, &fixture.id(SHARED_NO_VOLUMES)?).await?;
            expect_access(
                catalog,
                fixture,
                &snapshots,
                false,
                "the snapshot of an image shared without create-volume permission",
            )
            .await
        },
    )
    .await;

    r
}
