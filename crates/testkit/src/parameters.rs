//! The `Parameters` suite: SSM parameters read in batches, absent names absent, AWS's
//! public Amazon Linux parameters served.
//!
//! The caller's own parameters are seeded with [`Fixture::parameters_to_put`]; AWS's public
//! ones (`/aws/service/...`) are the backend's own (moto serves them; the in-process cloud
//! is seeded with the fixture's).

use amiref_core::{Architecture, Cloud, ParameterName};

use crate::fixture::{AL2023_X86_PARAMETER, IMAGE_DATA_TYPE, OWN_PARAMETER};
use crate::report::{Failure, ensure};
use crate::{Capabilities, Fixture, Report};

fn name(text: &str) -> Result<ParameterName, Failure> {
    ParameterName::new(text).map_err(|e| Failure(e.to_string()))
}

/// Runs every parameter check against `cloud` (parameters, and the catalog for the images
/// they name), seeded with `fixture`.
pub async fn run(cloud: &dyn Cloud, fixture: &Fixture, caps: &Capabilities) -> Report {
    let mut r = Report::new("parameters");

    r.check("own_parameter_is_read", async {
        let want = fixture
            .parameter(&fixture.region, OWN_PARAMETER)
            .ok_or_else(|| Failure(format!("the fixture has no {OWN_PARAMETER}")))?;
        let got = cloud
            .get_parameters(&fixture.region, std::slice::from_ref(&want.name))
            .await?;
        let p = got
            .get(&want.name)
            .ok_or_else(|| Failure(format!("{} is absent: {got:?}", want.name)))?;
        ensure!(p.name == want.name, "answered under the name {}", p.name);
        ensure!(
            p.value == want.value,
            "value {:?}, expected {:?}",
            p.value,
            want.value
        );
        ensure!(
            p.data_type.as_deref() == Some(IMAGE_DATA_TYPE),
            "data type {:?}, expected {IMAGE_DATA_TYPE}",
            p.data_type
        );
        ensure!(p.version >= 1, "version {}", p.version);
        Ok(())
    })
    .await;

    r.check("absent_parameters_are_absent_not_an_error", async {
        let own = name(OWN_PARAMETER)?;
        let asked = [fixture.missing_parameter.clone(), own.clone()];
        let got = cloud.get_parameters(&fixture.region, &asked).await?;
        ensure!(
            !got.contains_key(&fixture.missing_parameter),
            "a missing parameter was answered: {got:?}"
        );
        ensure!(
            got.contains_key(&own),
            "{own} is absent next to a missing name"
        );
        let none = cloud
            .get_parameters(
                &fixture.region,
                std::slice::from_ref(&fixture.missing_parameter),
            )
            .await?;
        ensure!(none.is_empty(), "only a missing name answered {none:?}");
        Ok(())
    })
    .await;

    r.check("more_names_than_one_call_takes_are_answered", async {
        // SSM's GetParameters takes 10 names a call: 12 need two.
        let mut asked = vec![name(OWN_PARAMETER)?, name(AL2023_X86_PARAMETER)?];
        for n in 0..10 {
            asked.push(name(&format!("/fixture/absent/{n}"))?);
        }
        let got = cloud.get_parameters(&fixture.region, &asked).await?;
        ensure!(
            got.len() == 2 && got.contains_key(&asked[0]) && got.contains_key(&asked[1]),
            "12 names (2 present) answered {:?}",
            got.keys().collect::<Vec<_>>()
        );
        Ok(())
    })
    .await;

    r.check("parameters_are_regional", async {
        let own = name(OWN_PARAMETER)?;
        let got = cloud
            .get_parameters(&fixture.other_region, std::slice::from_ref(&own))
            .await?;
        ensure!(
            got.is_empty(),
            "{own} of {} was answered in {}: {got:?}",
            fixture.region,
            fixture.other_region
        );
        Ok(())
    })
    .await;

    r.check("public_al2023_parameter_is_served", async {
        let public = name(AL2023_X86_PARAMETER)?;
        let got = cloud
            .get_parameters(&fixture.region, std::slice::from_ref(&public))
            .await?;
        let p = got
            .get(&public)
            .ok_or_else(|| Failure(format!("{public} is absent")))?;
        ensure!(
            p.value.parse::<amiref_core::AmiId>().is_ok(),
            "{public} is {:?}, not an image id",
            p.value
        );
        Ok(())
    })
    .await;

    r.check_if(
        caps.public_parameter_images,
        "public_parameter_images",
        "public_al2023_parameter_names_a_describable_image",
        async {
            let public = name(AL2023_X86_PARAMETER)?;
            let got = cloud
                .get_parameters(&fixture.region, std::slice::from_ref(&public))
                .await?;
            let value = got
                .get(&public)
                .map(|p| p.value.clone())
                .ok_or_else(|| Failure(format!("{public} is absent")))?;
            let id: amiref_core::AmiId = value
                .parse()
                .map_err(|e: amiref_core::ParseError| Failure(e.to_string()))?;
            let images = cloud
                .describe_images(&fixture.region, std::slice::from_ref(&id))
                .await?;
            let image = images
                .first()
                .ok_or_else(|| Failure(format!("{public} names {id}, which is not described")))?;
            ensure!(
                image.architecture == Architecture::X86_64,
                "{public} names a {} image",
                image.architecture
            );
            Ok(())
        },
    )
    .await;

    r
}
