//! The `ImageCatalog` suite: describe by id, search by owners and filters, visibility,
//! deprecation, states, pagination.

use std::collections::BTreeSet;

use amiref_core::{
    AmiId, Architecture, CloudErrorKind, Image, ImageCatalog, ImageFilter, ImageState, Owner,
};

use crate::fixture::{PRODUCT_CODE, RHEL_PLATFORM_DETAILS, RHEL_USAGE_OPERATION, keys::*};
use crate::report::{Failure, ensure};
use crate::{Capabilities, Fixture, Report};

/// The names among `images` that belong to the fixture (`fixture-*`), sorted: what a check
/// compares, so that other images a shared backend holds do not disturb it.
fn fixture_names(images: &[Image]) -> BTreeSet<String> {
    images
        .iter()
        .filter(|i| i.name.starts_with("fixture-") && !i.name.starts_with("fixture-bulk-"))
        .map(|i| i.name.clone())
        .collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn name_of(fixture: &Fixture, key: &str) -> Result<String, Failure> {
    fixture
        .image(key)
        .map(|i| i.image.name.clone())
        .ok_or_else(|| Failure(format!("the fixture has no image {key:?}")))
}

async fn search_names(
    catalog: &dyn ImageCatalog,
    fixture: &Fixture,
    filter: &ImageFilter,
) -> Result<BTreeSet<String>, Failure> {
    Ok(fixture_names(
        &catalog.search_images(&fixture.region, filter).await?,
    ))
}

/// Runs every catalog check against `catalog`, seeded with `fixture`.
pub async fn run(catalog: &dyn ImageCatalog, fixture: &Fixture, caps: &Capabilities) -> Report {
    let mut r = Report::new("catalog");
    let community = Owner::Account(fixture.community.clone());
    let stranger = Owner::Account(fixture.stranger.clone());

    r.check("describe_by_ids_returns_the_known_ones", async {
        let ids = vec![
            fixture.id(PYTHON_210_X86)?,
            fixture.id(MINE_X86)?,
            fixture.missing_image.clone(),
            fixture.id(PYTHON_210_X86)?,
        ];
        let found = catalog.describe_images(&fixture.region, &ids).await?;
        let got: BTreeSet<&AmiId> = found.iter().map(|i| &i.id).collect();
        let want: BTreeSet<&AmiId> = ids[..2].iter().collect();
        ensure!(
            got == want,
            "describing {ids:?} gave {got:?}, expected {want:?} (the missing id absent, no duplicates)"
        );
        ensure!(found.len() == 2, "duplicated ids gave {} images", found.len());
        Ok(())
    })
    .await;

    r.check("describe_only_missing_ids_is_empty_not_an_error", async {
        let found = catalog
            .describe_images(
                &fixture.region,
                std::slice::from_ref(&fixture.missing_image),
            )
            .await?;
        ensure!(found.is_empty(), "a missing id gave {found:?}");
        Ok(())
    })
    .await;

    r.check("described_images_carry_their_facts", async {
        let want = fixture
            .image(PYTHON_210_ARM)
            .ok_or_else(|| Failure("no arm64 image".into()))?;
        let found = catalog
            .describe_images(&fixture.region, std::slice::from_ref(&want.image.id))
            .await?;
        let got = found
            .first()
            .ok_or_else(|| Failure(format!("{} not described", want.image.id)))?;
        ensure!(got.name == want.image.name, "name {:?}", got.name);
        ensure!(got.owner == want.image.owner, "owner {}", got.owner);
        ensure!(
            got.architecture == Architecture::Arm64,
            "architecture {}",
            got.architecture
        );
        ensure!(got.region == fixture.region, "region {}", got.region);
        ensure!(got.state == ImageState::Available, "state {}", got.state);
        ensure!(
            got.creation_date == want.image.creation_date,
            "creation date {} (expected {})",
            got.creation_date,
            want.image.creation_date
        );
        ensure!(got.public, "a public image reported private");
        ensure!(got.tag("Version") == Some("v2.1.0"), "tags {:?}", got.tags);
        Ok(())
    })
    .await;

    r.check("plain_images_carry_no_billing_product", async {
        let ids = [fixture.id(PYTHON_210_X86)?, fixture.id(MINE_ARM)?];
        let found = catalog.describe_images(&fixture.region, &ids).await?;
        ensure!(found.len() == 2, "described {} of {ids:?}", found.len());
        for image in &found {
            ensure!(
                !image.has_billing_product(),
                "{} reports a billing product: usage operation {:?}, platform details {:?}",
                image.id,
                image.usage_operation,
                image.platform_details
            );
        }
        Ok(())
    })
    .await;

    r.check_if(
        caps.billing_details,
        "billing_details",
        "billing_facts_round_trip",
        async {
            let id = fixture.id(SHARED_LICENSED)?;
            let found = catalog
                .describe_images(&fixture.region, std::slice::from_ref(&id))
                .await?;
            let image = found
                .first()
                .ok_or_else(|| Failure(format!("{id} is not described")))?;
            ensure!(
                image.usage_operation.as_deref() == Some(RHEL_USAGE_OPERATION),
                "usage operation {:?}, expected {RHEL_USAGE_OPERATION}",
                image.usage_operation
            );
            ensure!(
                image.platform_details.as_deref() == Some(RHEL_PLATFORM_DETAILS),
                "platform details {:?}, expected {RHEL_PLATFORM_DETAILS}",
                image.platform_details
            );
            ensure!(image.has_billing_product(), "RHEL is not a billing product");
            Ok(())
        },
    )
    .await;

    r.check("search_without_owners_is_refused", async {
        let filter = ImageFilter::default().name("fixture-*");
        match catalog.search_images(&fixture.region, &filter).await {
            Err(e) if e.kind == CloudErrorKind::InvalidRequest => Ok(()),
            Err(e) => Err(Failure(format!("refused with the wrong kind: {e}"))),
            Ok(found) => Err(Failure(format!(
                "a search without owners answered {} images; name-squatting wins such searches",
                found.len()
            ))),
        }
    })
    .await;

    r.check("search_with_a_named_owner_is_refused", async {
        let filter = ImageFilter::owned_by([Owner::Named("prism-community".into())]);
        match catalog.search_images(&fixture.region, &filter).await {
            Err(e) if e.kind == CloudErrorKind::InvalidRequest => Ok(()),
            Err(e) => Err(Failure(format!("refused with the wrong kind: {e}"))),
            Ok(_) => Err(Failure(
                "a named owner reached the cloud instead of being refused".into(),
            )),
        }
    })
    .await;

    r.check("owner_account_selects_that_account", async {
        let got = search_names(
            catalog,
            fixture,
            &ImageFilter::owned_by([community.clone()]),
        )
        .await?;
        let mut want = names(&[
            "fixture-python-2.1.0-x86_64",
            "fixture-python-2.1.0-arm64",
            "fixture-python-2.0.0-x86_64",
        ]);
        if !caps.deprecation {
            want.insert(name_of(fixture, PYTHON_100_DEPRECATED)?);
        }
        ensure!(
            got == want,
            "community's images: {got:?}, expected {want:?}"
        );
        Ok(())
    })
    .await;

    r.check("owner_self_selects_the_callers_images", async {
        let got = search_names(catalog, fixture, &ImageFilter::owned_by([Owner::Me])).await?;
        let want = names(&["fixture-mine-x86_64", "fixture-mine-arm64"]);
        ensure!(got == want, "own images: {got:?}, expected {want:?}");
        Ok(())
    })
    .await;

    r.check_if(
        caps.owner_aliases,
        "owner_aliases",
        "owner_amazon_selects_amazons_images",
        async {
            let found = catalog
                .search_images(&fixture.region, &ImageFilter::owned_by([Owner::Amazon]))
                .await?;
            let got = fixture_names(&found);
            let want = names(&["fixture-al2023-base-x86_64"]);
            ensure!(got == want, "amazon's images: {got:?}, expected {want:?}");
            ensure!(
                found
                    .iter()
                    .all(|i| i.owner_alias.as_deref() == Some("amazon")),
                "an image found by owner amazon lacks the alias"
            );
            Ok(())
        },
    )
    .await;

    r.check_if(
        caps.marketplace_owner_alias,
        "marketplace_owner_alias",
        "owner_aws_marketplace_selects_marketplace_images",
        async {
            let got = search_names(
                catalog,
                fixture,
                &ImageFilter::owned_by([Owner::AwsMarketplace]),
            )
            .await?;
            let want = names(&["fixture-marketplace-1.0-x86_64"]);
            ensure!(
                got == want,
                "marketplace images: {got:?}, expected {want:?}"
            );
            Ok(())
        },
    )
    .await;

    r.check("several_owners_union", async {
        let filter =
            ImageFilter::owned_by([Owner::Me, community.clone()]).name("fixture-*-2.1.0-*");
        let got = search_names(catalog, fixture, &filter).await?;
        let want = names(&["fixture-python-2.1.0-x86_64", "fixture-python-2.1.0-arm64"]);
        ensure!(got == want, "{got:?}, expected {want:?}");
        let filter = ImageFilter::owned_by([Owner::Me, community.clone()]).name("fixture-mine-*");
        let got = search_names(catalog, fixture, &filter).await?;
        ensure!(got.len() == 2, "own images among two owners: {got:?}");
        Ok(())
    })
    .await;

    r.check("name_wildcards_follow_ec2", async {
        let star = ImageFilter::owned_by([community.clone()]).name("fixture-python-2.*");
        let got = search_names(catalog, fixture, &star).await?;
        let want = names(&[
            "fixture-python-2.1.0-x86_64",
            "fixture-python-2.1.0-arm64",
            "fixture-python-2.0.0-x86_64",
        ]);
        ensure!(got == want, "`*`: {got:?}, expected {want:?}");
        let question =
            ImageFilter::owned_by([community.clone()]).name("fixture-python-2.?.0-x86_64");
        let got = search_names(catalog, fixture, &question).await?;
        let want = names(&["fixture-python-2.1.0-x86_64", "fixture-python-2.0.0-x86_64"]);
        ensure!(got == want, "`?`: {got:?}, expected {want:?}");
        let exact = ImageFilter::owned_by([community.clone()]).name("fixture-python-2.1.0");
        let got = search_names(catalog, fixture, &exact).await?;
        ensure!(
            got.is_empty(),
            "a pattern without wildcards matched {got:?}"
        );
        Ok(())
    })
    .await;

    r.check("architecture_filter", async {
        let filter = ImageFilter::owned_by([community.clone(), Owner::Me])
            .name("fixture-*")
            .architectures([Architecture::Arm64]);
        let got = search_names(catalog, fixture, &filter).await?;
        let want = names(&["fixture-python-2.1.0-arm64", "fixture-mine-arm64"]);
        ensure!(got == want, "arm64: {got:?}, expected {want:?}");
        Ok(())
    })
    .await;

    r.check("tag_filters", async {
        let by_value =
            ImageFilter::owned_by([community.clone()]).tag("Version", Some("v2.1.0".into()));
        let got = search_names(catalog, fixture, &by_value).await?;
        let want = names(&["fixture-python-2.1.0-x86_64", "fixture-python-2.1.0-arm64"]);
        ensure!(
            got == want,
            "tag Version=v2.1.0: {got:?}, expected {want:?}"
        );
        let by_key = ImageFilter::owned_by([Owner::Me]).tag("Team", None);
        let got = search_names(catalog, fixture, &by_key).await?;
        ensure!(got.len() == 2, "tag key Team: {got:?}");
        let none = ImageFilter::owned_by([Owner::Me]).tag("Team", Some("nobody".into()));
        let got = search_names(catalog, fixture, &none).await?;
        ensure!(got.is_empty(), "tag Team=nobody: {got:?}");
        Ok(())
    })
    .await;

    r.check_if(
        caps.product_codes,
        "product_codes",
        "product_code_filter",
        async {
            let filter = ImageFilter::owned_by([Owner::Account(fixture.marketplace.clone())])
                .product_code(PRODUCT_CODE);
            let found = catalog.search_images(&fixture.region, &filter).await?;
            let got = fixture_names(&found);
            ensure!(
                got == names(&["fixture-marketplace-1.0-x86_64"]),
                "product code: {got:?}"
            );
            ensure!(
                found
                    .iter()
                    .all(|i| i.product_codes.iter().any(|p| p.code == PRODUCT_CODE)),
                "the image found by product code does not report it"
            );
            let other = ImageFilter::owned_by([community.clone()]).product_code(PRODUCT_CODE);
            ensure!(
                search_names(catalog, fixture, &other).await?.is_empty(),
                "community images matched a product code they lack"
            );
            Ok(())
        },
    )
    .await;

    r.check_if(
        caps.pending_states,
        "pending_states",
        "states_filter",
        async {
            let pending = name_of(fixture, PYTHON_220_PENDING)?;
            let default = search_names(
                catalog,
                fixture,
                &ImageFilter::owned_by([community.clone()]),
            )
            .await?;
            ensure!(
                !default.contains(&pending),
                "a pending image was returned without asking for pending"
            );
            let filter = ImageFilter::owned_by([community.clone()]).states([ImageState::Pending]);
            let got = search_names(catalog, fixture, &filter).await?;
            ensure!(got == names(&[&pending]), "states [pending]: {got:?}");
            let both = ImageFilter::owned_by([community.clone()])
                .states([ImageState::Pending, ImageState::Available])
                .name("fixture-python-2.*");
            let got = search_names(catalog, fixture, &both).await?;
            ensure!(got.len() == 4, "states [pending, available]: {got:?}");
            Ok(())
        },
    )
    .await;

    r.check_if(
        caps.deprecation,
        "deprecation",
        "deprecated_hidden_unless_asked",
        async {
            let deprecated = fixture
                .image(PYTHON_100_DEPRECATED)
                .ok_or_else(|| Failure("no deprecated image".into()))?;
            let filter = ImageFilter::owned_by([community.clone()]).name("fixture-python-1.*");
            let got = search_names(catalog, fixture, &filter).await?;
            ensure!(got.is_empty(), "a deprecated image was found: {got:?}");
            let got =
                search_names(catalog, fixture, &filter.clone().include_deprecated(true)).await?;
            ensure!(
                got == names(&[&deprecated.image.name]),
                "include_deprecated: {got:?}"
            );
            let described = catalog
                .describe_images(&fixture.region, std::slice::from_ref(&deprecated.image.id))
                .await?;
            ensure!(
                described.len() == 1,
                "a deprecated image is not describable by id"
            );
            ensure!(
                described[0].deprecation_time == deprecated.image.deprecation_time,
                "deprecation time {:?}, expected {:?}",
                described[0].deprecation_time,
                deprecated.image.deprecation_time
            );
            Ok(())
        },
    )
    .await;

    r.check("lookalike_is_found_only_under_its_owner", async {
        let lookalike = name_of(fixture, LOOKALIKE)?;
        let trusted = ImageFilter::owned_by([community.clone()]).name("fixture-python-*");
        let got = search_names(catalog, fixture, &trusted).await?;
        ensure!(
            !got.contains(&lookalike),
            "the stranger's look-alike was returned for the community's owner"
        );
        let strangers = ImageFilter::owned_by([stranger.clone()]).name("fixture-python-*");
        let got = search_names(catalog, fixture, &strangers).await?;
        ensure!(
            got == names(&[&lookalike]),
            "stranger's public images: {got:?}"
        );
        Ok(())
    })
    .await;

    r.check("shared_image_is_visible", async {
        let shared = fixture
            .image(SHARED_WITH_ME)
            .ok_or_else(|| Failure("no shared image".into()))?;
        let found = catalog
            .describe_images(&fixture.region, std::slice::from_ref(&shared.image.id))
            .await?;
        ensure!(
            found.len() == 1,
            "an image shared with the caller is not describable"
        );
        let filter = ImageFilter::owned_by([Owner::Account(fixture.partner.clone())])
            .name("fixture-shared-*");
        let got = search_names(catalog, fixture, &filter).await?;
        ensure!(
            got == names(&[&shared.image.name]),
            "searching the partner's images: {got:?}"
        );
        Ok(())
    })
    .await;

    r.check_if(
        caps.visibility,
        "visibility",
        "strangers_private_image_is_invisible",
        async {
            let private = fixture
                .image(STRANGER_PRIVATE)
                .ok_or_else(|| Failure("no private image".into()))?;
            let found = catalog
                .describe_images(&fixture.region, std::slice::from_ref(&private.image.id))
                .await?;
            ensure!(found.is_empty(), "a stranger's private image was described");
            let got =
                search_names(catalog, fixture, &ImageFilter::owned_by([stranger.clone()])).await?;
            ensure!(
                !got.contains(&private.image.name),
                "a stranger's private image was found by search"
            );
            Ok(())
        },
    )
    .await;

    let bulk = fixture.bulk_count();
    r.check_if(
        caps.pagination && bulk > 1000,
        "pagination (and a fixture with_bulk over 1000)",
        "a_search_larger_than_a_page_comes_back_whole",
        async {
            let filter = ImageFilter::owned_by([community.clone()]).name("fixture-bulk-*");
            let found = catalog.search_images(&fixture.region, &filter).await?;
            let unique: BTreeSet<&AmiId> = found.iter().map(|i| &i.id).collect();
            ensure!(
                found.len() == bulk && unique.len() == bulk,
                "{} images ({} distinct) of {bulk}",
                found.len(),
                unique.len()
            );
            Ok(())
        },
    )
    .await;

    r
}
